"""Distillation: labelling structures with a teacher (training lands here next)."""
