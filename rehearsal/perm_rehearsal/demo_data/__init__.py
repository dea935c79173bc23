"""Synthetic v1 source data: reference DDL, realistic rows, dirty scenarios per DQ id."""

from perm_rehearsal.demo_data.generator import GenerationResult, generate

__all__ = ["GenerationResult", "generate"]
