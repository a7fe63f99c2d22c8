"""Demo bills for Acme Robotics, consistent with the generated AI usage logs.

`generate_billing(out, traffic=ledger, seed=7, start=..., end=...)` writes FOCUS 1.2 exports of
AWS, Azure and GCP (with a month-to-date and a restated delivery of the open month), an AWS
CUR 2.0 export, the OpenAI and Anthropic cost and usage API responses, and `billing/truth.json`.
`traffic` is the `AiLedger` the log generator filled while simulating requests.
"""

from bimo.demo.billing.ledger import AiLedger
from bimo.demo.billing.truth import BillingTruth
from bimo.demo.billing.write import generate_billing

__all__ = ["AiLedger", "BillingTruth", "generate_billing"]
