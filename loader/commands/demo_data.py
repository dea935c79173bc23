"""`perm-migrate demo-data`: the rehearsal rig's synthetic v1 data generator (body in perm_rehearsal)."""

from loader.rehearsal_rig import RigCommand

command = RigCommand("demo-data", "perm_rehearsal.commands.demo_data",
                     "Create the reference v1 schema and generate realistic PERM data with bulk COPY.")
