"""Acme Robotics' cloud estate: billing accounts, sub-accounts and the metered resources each
cloud bills for. Static; `cloud.py` turns it into daily charges. Prices are USD list prices."""

from __future__ import annotations

from dataclasses import dataclass, field

HOURS = "Hours"
LINUX = {"OperatingSystem": "Linux"}


@dataclass(frozen=True)
class Resource:
    """One metered thing: `daily` pricing units on a weekday (× `weekend` on Sat/Sun), growing by
    `growth` per 90 days. `monthly` units (GB-Mo) accrue `daily / days in month` per day."""

    key: str
    sub: int  # index into the cloud's sub-accounts
    service: str
    category: str  # FOCUS ServiceCategory
    subcategory: str  # FOCUS ServiceSubcategory
    sku: str
    meter: str  # SkuMeter, AWS usage type
    unit: str  # PricingUnit
    consumed_unit: str
    per_unit: int  # consumed units per pricing unit
    daily: float
    price: float  # USD per pricing unit
    region: str
    code: str  # AWS product code / x_ServiceCode, Azure meter category, GCP service id
    operation: str = ""
    resource_type: str | None = None
    resource: str | None = None
    tags: dict[str, str] | None = None
    weekend: float = 1.0
    growth: float = 0.05
    monthly: bool = False
    sp_rate: float | None = None  # Savings Plan rate per unit: the usage is SP-eligible
    details: dict[str, object] | None = None  # SkuPriceDetails
    noise: float = 0.04  # day-to-day variation (0: a fixed-size instance)


@dataclass(frozen=True)
class Cloud:
    key: str  # aws | azure | gcp
    provider: str
    invoice_issuer: str
    account_id: str
    account_name: str
    account_type: str
    subs: tuple[tuple[str, str], ...]  # (SubAccountId, SubAccountName)
    sub_type: str
    currency: str  # billing currency (Azure bills Acme's EU profile in EUR)
    resources: tuple[Resource, ...]
    contract_discount: float = 0.0  # negotiated discount: ContractedUnitPrice below list
    region_names: dict[str, str] = field(default_factory=dict)


def tags(team: str, env: str, app: str) -> dict[str, str]:
    return {"team": team, "env": env, "app": app}


AWS_ACCOUNTS = (
    ("004455667788", "acme-prod"),
    ("012345098765", "acme-staging"),
    ("000987654321", "acme-ml"),
)
AWS = Cloud(
    "aws", "AWS", "Amazon Web Services, Inc.", "001234567890", "Acme Robotics (payer)",
    "Management Account", AWS_ACCOUNTS, "Linked Account", "USD",
    (
        Resource("ec2-api", 0, "Amazon Elastic Compute Cloud", "Compute", "Virtual Machines",
                 "8VCNEHQMSCQS4P39", "USE1-BoxUsage:m7i.2xlarge", HOURS, HOURS, 1, 144, 0.4032,
                 "us-east-1", "AmazonEC2", "RunInstances", "Instance",
                 "arn:aws:ec2:us-east-1:004455667788:instance/i-0a1b2c3d4e5f60718",
                 tags("platform", "prod", "gateway"), weekend=0.75, sp_rate=0.2822,
                 details={"InstanceType": "m7i.2xlarge", "CoreCount": 8, **LINUX}),
        Resource("ec2-llm", 2, "Amazon Elastic Compute Cloud", "Compute", "Virtual Machines",
                 "J7FXPNM4U8G3HB6Q", "USE1-BoxUsage:g6e.12xlarge", HOURS, HOURS, 1, 48, 10.493,
                 "us-east-1", "AmazonEC2", "RunInstances", "Instance",
                 "arn:aws:ec2:us-east-1:000987654321:instance/i-07f1e2d3c4b5a6978",
                 tags("search", "prod", "acme-llama-70b-ft"), weekend=0.5, growth=0.0,
                 sp_rate=7.345,
                 details={"InstanceType": "g6e.12xlarge", "GpuCount": 4, **LINUX}),
        Resource("ec2-staging", 1, "Amazon Elastic Compute Cloud", "Compute", "Virtual Machines",
                 "4TZ9QXW2KD7YRMNA", "USE1-BoxUsage:c7g.xlarge", HOURS, HOURS, 1, 48, 0.1445,
                 "us-east-1", "AmazonEC2", "RunInstances", "Instance", None, None, weekend=0.25),
        Resource("rds", 0, "Amazon Relational Database Service", "Databases",
                 "Relational Databases", "QG5ZB2ZJ6XWJ3R8K", "USE1-Multi-AZUsage:db.r6g.xlarge",
                 HOURS, HOURS, 1, 24, 0.96, "us-east-1", "AmazonRDS", "CreateDBInstance:0014",
                 "DBInstance", "arn:aws:rds:us-east-1:004455667788:db:acme-core",
                 tags("platform", "prod", "core-db"), growth=0.0, noise=0.0),
        Resource("s3", 0, "Amazon Simple Storage Service", "Storage", "Object Storage",
                 "WP9ANXZGBYYSGJEA", "USE1-TimedStorage-ByteHrs", "GB-Mo", "GB-Mo", 1, 42_000,
                 0.023, "us-east-1", "AmazonS3", "StandardStorage", "Bucket",
                 "acme-prod-documents", tags("data-science", "prod", "doc-store"), growth=0.15,
                 monthly=True),
        Resource("egress", 0, "AWS Data Transfer", "Networking", "Network Connectivity",
                 "HQEH3ZPJ3V4RXVY2", "USE1-DataTransfer-Out-Bytes", "GB", "GB", 1, 900, 0.09,
                 "us-east-1", "AWSDataTransfer", "", None, None, None, weekend=0.45),
        Resource("bedrock-in", 2, "Amazon Bedrock", "AI and Machine Learning", "Generative AI",
                 "B7UVCM4QXJ2E9KFA", "USE1-Claude3.5Haiku-input-tokens", "1K Tokens", "Tokens",
                 1000, 2_400, 0.0008, "us-east-1", "AmazonBedrock", "InvokeModelInference",
                 None, None, tags("data-science", "dev", "bedrock-eval"), weekend=0.1),
        Resource("bedrock-out", 2, "Amazon Bedrock", "AI and Machine Learning", "Generative AI",
                 "B7UVCM4QXJ2E9KFB", "USE1-Claude3.5Haiku-output-tokens", "1K Tokens", "Tokens",
                 1000, 300, 0.004, "us-east-1", "AmazonBedrock", "InvokeModelInference",
                 None, None, tags("data-science", "dev", "bedrock-eval"), weekend=0.1),
    ),
    region_names={"us-east-1": "US East (N. Virginia)"},
)  # fmt: skip

_SUB = "/subscriptions/{}"
AZURE = Cloud(
    "azure", "Microsoft", "Microsoft Ireland Operations Ltd",
    "/providers/Microsoft.Billing/billingAccounts/7c1f9a2e-4b3d-4e8a-9f21-0d5c6b7a8e91:"
    "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9_2019-05-31",
    "Acme Robotics Europe GmbH", "Billing Profile",
    ((_SUB.format("5b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"), "acme-eu-prod"),
     (_SUB.format("0e9d8c7b-6a59-4847-b635-2413f0e1d2c3"), "acme-eu-ai")),
    "Subscription", "EUR",
    (
        Resource("vm", 0, "Virtual Machines", "Compute", "Virtual Machines",
                 "DZH318Z0BQ4L", "D4s v5", "1 Hour", "Hours", 1, 72, 0.192, "westeurope",
                 "Virtual Machines", "", "microsoft.compute/virtualmachines",
                 _SUB.format("5b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9")
                 + "/resourceGroups/rg-eu-app/providers/Microsoft.Compute/virtualMachines/"
                 "vm-eu-app-01", tags("support", "prod", "helpdesk-eu"),
                 details={"InstanceType": "Standard_D4s_v5", "CoreCount": 4}),
        Resource("postgres", 0, "Azure Database for PostgreSQL", "Databases",
                 "Relational Databases", "DZH318Z0D1N5", "D4ds v5 vCore", "1 Hour", "Hours", 1,
                 24, 0.356, "westeurope", "Azure Database for PostgreSQL", "",
                 "microsoft.dbforpostgresql/flexibleservers",
                 _SUB.format("5b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9")
                 + "/resourceGroups/rg-eu-data/providers/Microsoft.DBforPostgreSQL/"
                 "flexibleServers/pg-eu-helpdesk", tags("support", "prod", "helpdesk-eu"),
                 growth=0.0, noise=0.0),
        Resource("blob", 0, "Storage", "Storage", "Object Storage", "DZH318Z0BNVX",
                 "Hot LRS Data Stored", "1 GB/Month", "GB/Month", 1, 8_000, 0.0184,
                 "westeurope", "Storage", "", "microsoft.storage/storageaccounts",
                 _SUB.format("5b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9")
                 + "/resourceGroups/rg-eu-data/providers/Microsoft.Storage/storageAccounts/"
                 "acmeeudocs", None, growth=0.2, monthly=True),
        Resource("bandwidth", 0, "Bandwidth", "Networking", "Network Connectivity",
                 "DZH318Z0BP04", "Standard Data Transfer Out", "1 GB", "GB", 1, 180, 0.087,
                 "westeurope", "Bandwidth", "", None, None, None, weekend=0.5),
        Resource("aoai-in", 1, "Azure OpenAI", "AI and Machine Learning", "Generative AI",
                 "DZH318Z0BQPS", "gpt-4o-mini-0718 Inp glbl Tokens", "1K Tokens", "Tokens",
                 1000, 6_000, 0.000165, "swedencentral", "Foundry Models", "",
                 "microsoft.cognitiveservices/accounts",
                 _SUB.format("0e9d8c7b-6a59-4847-b635-2413f0e1d2c3")
                 + "/resourceGroups/rg-eu-ai/providers/Microsoft.CognitiveServices/accounts/"
                 "aoai-eu-pilot", tags("support", "staging", "eu-residency-pilot"),
                 weekend=0.2),
        Resource("aoai-out", 1, "Azure OpenAI", "AI and Machine Learning", "Generative AI",
                 "DZH318Z0BQPT", "gpt-4o-mini-0718 Outp glbl Tokens", "1K Tokens", "Tokens",
                 1000, 900, 0.00066, "swedencentral", "Foundry Models", "",
                 "microsoft.cognitiveservices/accounts",
                 _SUB.format("0e9d8c7b-6a59-4847-b635-2413f0e1d2c3")
                 + "/resourceGroups/rg-eu-ai/providers/Microsoft.CognitiveServices/accounts/"
                 "aoai-eu-pilot", tags("support", "staging", "eu-residency-pilot"),
                 weekend=0.2),
    ),
    contract_discount=0.05,
    region_names={"westeurope": "West Europe", "swedencentral": "Sweden Central"},
)  # fmt: skip

GCP = Cloud(
    "gcp", "Google Cloud", "Google Cloud EMEA Limited", "01A2B3-C4D5E6-F7A8B9",
    "Acme Robotics billing", "Billing Account",
    (("acme-data-prod", "Acme Data Prod"), ("acme-vertex-sandbox", "Acme Vertex Sandbox")),
    "Project", "USD",
    (
        Resource("gce", 0, "Compute Engine", "Compute", "Virtual Machines", "6B8F-E63D-832B",
                 "N2 Instance Core running in Belgium", HOURS, HOURS, 1, 96, 0.3885,
                 "europe-west1", "6F81-5844-456A", "", "compute.googleapis.com/Instance",
                 "projects/acme-data-prod/zones/europe-west1-b/instances/etl-worker-1",
                 tags("data-science", "prod", "etl"), weekend=0.6,
                 details={"InstanceSeries": "N2", "CoreCount": 8}),
        Resource("gcs", 0, "Cloud Storage", "Storage", "Object Storage", "E5F0-6A5D-7BAD",
                 "Standard Storage Belgium", "GiB-Mo", "GiB-Mo", 1, 25_000, 0.02,
                 "europe-west1", "95FF-2EF5-5EA1", "", "storage.googleapis.com/Bucket",
                 "projects/_/buckets/acme-churn-lake", tags("data-science", "prod", "lake"),
                 growth=0.25, monthly=True),
        Resource("gcs-ops", 0, "Cloud Storage", "Storage", "Object Storage", "A1E8-BE4B-E6F9",
                 "Standard Storage Class B Operations", "Requests", "Requests", 1, 2_500_000,
                 0.0000004, "europe-west1", "95FF-2EF5-5EA1", "", "storage.googleapis.com/Bucket",
                 "projects/_/buckets/acme-churn-lake", tags("data-science", "prod", "lake"),
                 weekend=0.6),
        Resource("bq", 0, "BigQuery", "Databases", "Data Warehouses", "3362-E469-6BEF",
                 "Analysis", "TiB", "TiB", 1, 3.2, 6.25, "europe-west1", "24E6-581D-38E5", "",
                 None, None, tags("data-science", "prod", "churn-insights"), weekend=0.2),
        Resource("cloudsql", 0, "Cloud SQL", "Databases", "Relational Databases",
                 "A8B2-91C4-D7E0", "Cloud SQL for PostgreSQL: Zonal - vCPU", HOURS, HOURS, 1,
                 96, 0.0413, "europe-west1", "9662-B51E-5089", "",
                 "sqladmin.googleapis.com/Instance", "acme-data-prod:europe-west1:features",
                 tags("data-science", "prod", "features"), growth=0.0, noise=0.0),
        Resource("egress", 0, "Networking", "Networking", "Network Connectivity",
                 "984A-1F8D-7FA7", "Network Internet Data Transfer Out from EMEA", "GiB",
                 "GiB", 1, 140, 0.12, "europe-west1", "E505-1604-58F8", "", None, None, None,
                 weekend=0.5),
        Resource("vertex-in", 1, "Vertex AI", "AI and Machine Learning", "Generative AI",
                 "FDAB-647C-5A22", "Gemini 2.5 Flash Input Text Tokens", "1M Tokens",
                 "Tokens", 1_000_000, 1.8, 0.3, "europe-west1", "C7E2-9256-1C43", "", None,
                 None, tags("growth", "dev", "vertex-prototype"), weekend=0.05, growth=0.6),
        Resource("vertex-out", 1, "Vertex AI", "AI and Machine Learning", "Generative AI",
                 "FDAB-647C-5A23", "Gemini 2.5 Flash Output Text Tokens", "1M Tokens",
                 "Tokens", 1_000_000, 0.25, 2.5, "europe-west1", "C7E2-9256-1C43", "", None,
                 None, tags("growth", "dev", "vertex-prototype"), weekend=0.05, growth=0.6),
    ),
    region_names={"europe-west1": "Belgium"},
)  # fmt: skip

CLOUDS = (AWS, AZURE, GCP)

# Compute Savings Plan (1 year, no upfront) on the AWS payer: USD per hour of commitment.
SAVINGS_PLAN = {
    "id": "arn:aws:savingsplans::001234567890:savingsplan/3f5c9a1e-7d2b-4c6e-8a9f-1b2c3d4e5f60",
    "name": "Compute SP 1yr No Upfront",
    "hourly": 12.0,
}
# EUR per 1 USD by month, as Azure's export carries it in x_BillingExchangeRate.
EUR_PER_USD = (0.9214, 0.9187, 0.9302, 0.9268, 0.9155, 0.9231, 0.9109, 0.9176, 0.9243, 0.9198,
               0.9127, 0.9285)  # fmt: skip
AWS_TAX_RATE = 0.0625  # US sales tax on AWS services
