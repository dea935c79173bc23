"""Bodies of the rig's CLI commands; the product lists them (stubs of the same names in
`loader/commands/`) and imports these modules only when the command runs."""
