"""Seeded prompt and response text, so that logs carry realistic content for ingestion to drop."""

from __future__ import annotations

import numpy as np

from bimo.demo.company import FEATURES

CUSTOMERS = (
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella Logistics",
    "Stark Fabrication",
    "Wayne Freight",
    "Hooli",
    "Vandelay Imports",
    "Soylent Foods",
    "Tyrell Systems",
    "Cyberdyne Labs",
    "Wonka Industries",
    "Massive Dynamic",
    "Oceanic Air",
    "Blue Harbor Retail",
    "Kestrel Pharma",
)
PRODUCTS = (
    "AR-7 robotic arm",
    "FleetOps dashboard",
    "Pathfinder AMR",
    "GripPro end effector",
    "VisionKit camera module",
    "Conveyor Sync",
    "SafeStop controller",
    "Acme Cloud API",
    "RoboCal calibration tool",
    "Dockmaster charger",
)
ISSUES = (
    "the firmware update stops at 87%",
    "the arm drifts 2 mm after calibration",
    "the dashboard shows telemetry from yesterday",
    "the invoice was charged twice",
    "the API returns 502 during the morning peak",
    "the battery drains overnight",
    "emergency stops are not written to the audit log",
    "SSO login loops back to the start page",
    "the CSV export truncates rows after 10,000",
    "the robot waits 40 seconds at the dock",
    "pick accuracy dropped to 91% on glossy boxes",
    "the gripper loses vacuum on cold mornings",
)
TOPICS = (
    "warehouse automation",
    "predictive maintenance",
    "pick-and-place accuracy",
    "fleet utilisation",
    "safety certification",
    "energy usage",
    "the SAP integration",
    "onboarding a new site",
    "spare-part lead times",
    "the annual service plan",
)
DOCS = (
    "supplier invoice",
    "purchase order",
    "maintenance report",
    "safety audit",
    "service contract",
    "shipping manifest",
    "warranty claim",
)
QUERIES = (
    "servo motor 24V replacement",
    "gripper pads for glass",
    "AMR charging dock",
    "lidar cleaning kit",
    "torque sensor calibration",
    "conveyor belt 600 mm",
    "safety scanner bracket",
    "vacuum cup 40 mm silicone",
)
FILES = (
    "gateway/router.py",
    "search/ranker.go",
    "helpdesk/agent/tools.ts",
    "pipelines/churn.sql",
    "web/src/pages/Pricing.tsx",
    "infra/modules/vpc/main.tf",
    "ml/features/build.py",
    "firmware/motion/pid.c",
)
NAMES = ("Alex", "Jordan", "Sam", "Morgan", "Taylor", "Robin", "Charlie", "Jamie")

PROMPTS = {
    "chat": (
        "Can you explain how the {product} handles {topic}? {customer} is asking before renewal.",
        "Draft a friendly reply to {name} at {customer}: {issue} on their {product}.",
        "What changed in {product} release {ver} that matters for {topic}?",
        "{customer} wants to know if the {product} supports {topic}. Keep it short.",
    ),
    "summarize": (
        "Summarise ticket #{n5} for customer {customer}: {issue}. The customer has "
        "restarted the {product} twice and attached logs from site {n2}.",
        "Summarise this call transcript with {name} from {customer} about {topic} in "
        "three bullet points.",
        "Write a one-paragraph summary of incident INC-{n4}: {issue} ({product}).",
    ),
    "classify": (
        'Classify this message into billing, technical, sales or spam: "{issue}" '
        "(from {customer}).",
        'Label the sentiment (positive, neutral, negative) of: "{name} says {issue}."',
        "Is this lead from {customer} about {topic} hot, warm or cold?",
    ),
    "extract": (
        "Extract vendor, total, currency and due date as JSON from this {doc} "
        "({customer}, ref {ref}).",
        "Pull every part number and quantity from the {doc} {ref} sent by {customer}.",
        "Extract the serial number, site and fault description: {issue} on {product}.",
    ),
    "embed": (
        "{product}: {topic}. Known issue: {issue}.",
        "Knowledge-base article KB-{n4}: {topic} for the {product}.",
    ),
    "agent": (
        "Resolve ticket #{n5} for {customer}: {issue}. Tools available: lookup_order, "
        "check_firmware, create_rma. Reply to {name} when done.",
        "Investigate why the {product} at {customer} site {n2} reports that {issue}.",
    ),
    "code-review": (
        "Review this diff to {file} for bugs and missing tests (PR #{n4}).",
        "Check {file} for race conditions in the retry loop (PR #{n4}).",
    ),
    "search-rerank": (
        'Query: "{query}". Rerank the 20 catalogue results below by relevance.',
        'Rank these products for the search "{query}" from {customer}.',
    ),
}
RESPONSES = {
    "chat": (
        "Hi {name}, thanks for reaching out. The {product} handles {topic} through its "
        "scheduler; release {ver} added a setting for it. Happy to walk you through it.",
        "Yes. {customer} can enable it from the admin panel under Settings > {topic}.",
    ),
    "summarize": (
        "- {customer} reports that {issue}.\n- Affects the {product} at site {n2}.\n"
        "- Next step: engineering to review the logs.",
        "{name} ({customer}) asked about {topic}; we agreed on a follow-up next week.",
    ),
    "classify": ("technical", "billing", "negative", "warm", "sales", "neutral"),
    "extract": (
        '{{"vendor": "{customer}", "total": {amount}, "currency": "EUR", '
        '"due_date": "2025-0{m}-1{m}"}}',
        '[{{"part": "AR-{n4}", "qty": {n2}}}, {{"part": "GP-{n5}", "qty": 1}}]',
    ),
    "embed": ("",),
    "agent": (
        "I checked the firmware logs for {customer}: {issue}. I opened RMA-{n5} and sent "
        "{name} the replacement steps.",
        "Root cause: a stale calibration profile on the {product}. Fixed and verified.",
    ),
    "code-review": (
        "Two issues in {file}: the retry loop never resets its backoff, and the new "
        "branch has no test. Otherwise looks good.",
        "LGTM after one nit: rename the helper in {file} for clarity.",
    ),
    "search-rerank": ("[3, 17, 1, 8, 12, 4, 9, 2, 20, 5]", "[1, 2, 6, 3, 11, 7, 19, 4, 5, 8]"),
}
SYSTEM = {
    "chat": "You are Acme Robotics' helpful assistant. Answer concisely.",
    "agent": "You are Acme's support agent. Use tools; never promise refunds.",
    "extract": "Return only valid JSON.",
}
DEV_PROMPTS = (
    "Refactor {file} so the retry logic uses exponential backoff.",
    "Why does test_{word} fail on CI but pass locally?",
    "Add a unit test for the empty-input case in {file}.",
    "Explain what the function in {file} at line {n3} does.",
    "Fix the failing lint checks in {file}.",
)
DEV_RESPONSES = (
    "I updated {file} and ran the test suite: all {n3} tests pass.",
    "The failure comes from a timezone-dependent fixture; I pinned it to UTC.",
    "Done. I added the test and it covers the empty list branch.",
)
WORDS = ("routing", "pricing", "retry", "ranker", "export", "login", "quota", "cache")


def _slots(r: list[int]) -> dict[str, object]:
    return {
        "customer": CUSTOMERS[r[1] % len(CUSTOMERS)],
        "product": PRODUCTS[r[2] % len(PRODUCTS)],
        "issue": ISSUES[r[3] % len(ISSUES)],
        "topic": TOPICS[r[4] % len(TOPICS)],
        "doc": DOCS[r[5] % len(DOCS)],
        "query": QUERIES[r[5] % len(QUERIES)],
        "file": FILES[r[6] % len(FILES)],
        "name": NAMES[r[7] % len(NAMES)],
        "word": WORDS[r[7] % len(WORDS)],
        "n5": 10_000 + r[1] % 89_999,
        "n4": 1000 + r[2] % 8999,
        "n3": 10 + r[3] % 480,
        "n2": 1 + r[4] % 40,
        "ver": f"4.{r[5] % 9}.{r[6] % 12}",
        "ref": f"PO-{r[6] % 99_999:05d}",
        "amount": round(100 + r[3] % 990_000 / 100, 2),
        "m": 1 + r[4] % 9,
    }


class Texts:
    """Builds (system, prompt, response) triples from a seeded vocabulary."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def prod(self, feature: np.ndarray) -> list[tuple[str | None, str, str | None]]:
        draws = self.rng.integers(0, 1 << 30, size=(len(feature), 8)).tolist()
        out = []
        for f, r in zip(feature.tolist(), draws, strict=True):
            name = FEATURES[f]
            s = _slots(r)
            prompts, responses = PROMPTS[name], RESPONSES[name]
            prompt = prompts[r[0] % len(prompts)].format(**s)
            response = responses[(r[0] >> 4) % len(responses)].format(**s) or None
            out.append((SYSTEM.get(name), prompt, response))
        return out

    def dev(self, n: int) -> list[tuple[str, str]]:
        draws = self.rng.integers(0, 1 << 30, size=(n, 8)).tolist()
        out = []
        for r in draws:
            s = _slots(r)
            prompt = DEV_PROMPTS[r[0] % len(DEV_PROMPTS)].format(**s)
            out.append((prompt, DEV_RESPONSES[(r[0] >> 4) % len(DEV_RESPONSES)].format(**s)))
        return out
