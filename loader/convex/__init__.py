"""Convex-side building blocks shared by the loader and the emulator: ids, values, schema validation."""
