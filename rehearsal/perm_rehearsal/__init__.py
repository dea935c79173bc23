"""perm-migrate's rehearsal and test rig: the local Convex emulator (`emulator`), synthetic v1 data
(`demo_data`) and a throwaway PostgreSQL (`throwaway_pg`), plus the `perm-migrate emulator` and
`perm-migrate demo-data` command bodies (`commands`).

The product (`loader`) never imports it in a real migration; `run --demo`, `emulator` and `demo-data`
load it when they run (`loader/rehearsal_rig.py`). Its loggers keep their names in the `loader`
logger hierarchy, so that a `perm-migrate` run's console and run log carry them.
"""

__version__ = "0.1.0"
