"""Offline tools: index builds, lint, the editors' guard, evaluation, tuning, ablation, benchmarks and load generators. Never imported by the runtime layers."""
