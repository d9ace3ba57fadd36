"""The supervisord config the stack generates (no daemon started here)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from mlworkbench.platform.supervisor import Program, Supervisor


def test_programs_render_to_a_config_supervisord_can_read(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "stack")
    program = Program("mlflow", ["python", "-m", "x", "--uri", "postgresql://a@b/c?x=50%"],
                      environment={"SECRET": "p%ss"}, user="postgres", stopsignal="INT")
    assert supervisor.write_config([program])
    assert not supervisor.write_config([program])  # unchanged: nothing to reload

    parser = configparser.RawConfigParser()
    parser.read_string(supervisor.config.read_text())
    section = parser["program:mlflow"]
    assert shlex.split(section["command"].replace("%%", "%"))[-1] == "postgresql://a@b/c?x=50%"
    assert section["environment"] == 'SECRET="p%%ss"'  # supervisord expands %(...)s itself
    assert section["autostart"] == "false" and section["autorestart"] == "true"
    assert section["user"] == "postgres" and section["stopsignal"] == "INT"
    assert section["stdout_logfile"] == str(supervisor.logs / "mlflow.log")
    assert parser["unix_http_server"]["file"] == str(supervisor.socket)


def test_a_long_workspace_path_gets_a_short_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "stack"
    supervisor = Supervisor(deep)
    assert len(str(supervisor.socket)) < 100
    assert Supervisor(deep).socket == supervisor.socket  # stable per workspace
