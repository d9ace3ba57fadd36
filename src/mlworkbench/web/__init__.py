"""What every HTTP service of the workbench shares: the JSON error contract and admin auth.

Each app lives next to its job (the model APIs in ``serving``, the simulator in ``data``,
monitoring in ``monitoring``, jobs in ``pipelines``); this layer sits under all of them.
"""
