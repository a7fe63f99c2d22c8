"""Demo SaaS data for Acme Robotics: what GitHub (Copilot seats, seat breakdown, billing usage),
Slack (billable users) and Zoom (users, daily report) answer day by day, and monthly invoices.

`generate_saas(root, start, end, seed)` writes the saved API responses under `root/saas/`,
invoices under `root/saas/saas-invoices/` and the ground truth in `root/saas/truth.json` (seats per
tool per day, billable users per day, …). `bimo.demo.saas_server` serves the responses over HTTP.
"""

from bimo.demo.saas.write import SAVED, generate_saas

__all__ = ["SAVED", "generate_saas"]
