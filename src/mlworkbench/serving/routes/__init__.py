"""One router per noun; :func:`mlworkbench.serving.app.create_app` wires them."""
