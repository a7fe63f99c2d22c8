"""Demo data: a deterministic landing zone of AI usage logs for the fictional Acme Robotics.

`generate(out, days=90, requests_per_day=1500, seed=7)` writes the four log formats Bimo reads
(Bimo gateway JSONL, LiteLLM spend logs, OpenTelemetry GenAI spans, CLI usage JSONL) plus
`labels.json`, the ground truth of injected anomalies and malformed records.
"""

from bimo.demo.generate import GenerateResult, generate

__all__ = ["GenerateResult", "generate"]
