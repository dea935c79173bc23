"""The product package (`loader`, distribution perm-migrate) carries nothing a real migration does not
use: the rehearsal rig (`perm_rehearsal`, with aiohttp) is a separate package, imported only by
`run --demo`, `emulator` and `demo-data`, which name what to install when it is missing."""

import json
import os
import re
import subprocess
import sys
import sysconfig
from importlib.metadata import requires
from pathlib import Path

from click.testing import CliRunner

from loader.cli import main

REPO = Path(__file__).resolve().parents[2]
RIG_TOP_LEVEL = ("perm_rehearsal", "aiohttp")


def _names(requirements: list[str], extra: str | None) -> set[str]:
    """Distribution names of `requirements` that apply without extras (extra=None) or with `extra`."""
    names = set()
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower()
        marker_extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if (marker_extra.group(1) if marker_extra else None) == extra:
            names.add(name)
    return names


def test_product_metadata_depends_on_no_rig_package():
    product = requires("perm-migrate")
    assert not _names(product, None) & {"aiohttp", "perm-migrate-rehearsal"}
    assert _names(product, "rehearsal") == {"perm-migrate-rehearsal"}
    assert {"aiohttp", "perm-migrate"} <= _names(requires("perm-migrate-rehearsal"), None)


def test_importing_every_product_module_imports_no_rig():
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import loader\n"
        "names = [m.name for m in pkgutil.walk_packages(loader.__path__, 'loader.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "from loader.cli import main\n"
        "main(['--help'], standalone_mode=False)  # lists emulator and demo-data\n"
        f"rig = sorted(n for n in sys.modules if n.split('.')[0] in {RIG_TOP_LEVEL!r})\n"
        "print(json.dumps({'imported': len(names), 'rig': rig}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["imported"] > 30 and result["rig"] == []
    assert "emulator" in done.stdout and "demo-data" in done.stdout


def test_rig_commands_pass_options_and_help_through():
    emulator = CliRunner().invoke(main, ["emulator", "--help"])
    assert emulator.exit_code == 0 and "serve" in emulator.output
    demo_data = CliRunner().invoke(main, ["demo-data", "--help"])
    assert demo_data.exit_code == 0 and "--dirty" in demo_data.output
    bad_option = CliRunner().invoke(main, ["demo-data", "--users", "0"])
    assert bad_option.exit_code == 2 and "--users" in bad_option.output


def test_without_the_rig_each_rig_command_says_what_to_install(tmp_path):
    # No site initialisation: the editable installs' import hooks are not run, so `loader` comes from
    # the checkout and its dependencies from site-packages, while `perm_rehearsal` is not installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), sysconfig.get_paths()["purelib"]]),
           "PERM_RUNS_DIR": str(tmp_path / "runs")}
    for args in (["emulator", "serve", "--port", "1"], ["demo-data", "--help"], ["run", "--demo"]):
        done = subprocess.run([sys.executable, "-S", "-c", "from loader.cli import main; main()", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert f"`perm-migrate {args[0] if args[0] != 'run' else 'run --demo'}` needs the rehearsal rig" in done.stderr
        assert "no module 'perm_rehearsal'" in done.stderr and "pip install -e ./rehearsal" in done.stderr
