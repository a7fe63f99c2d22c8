"""The quarantine table every source writes: where a record that cannot be loaded goes, with its
source, file, line and reason (never its content)."""

import pyarrow as pa

QUARANTINE_TABLE = "quarantine"
QUARANTINE_COLUMNS: dict[str, pa.DataType] = {
    "source": pa.string(),
    "file": pa.string(),
    "line": pa.int64(),
    "reason": pa.string(),
    "quarantined_at": pa.timestamp("us", tz="UTC"),
}
QUARANTINE_SCHEMA = pa.schema(
    [pa.field(n, t, nullable=n == "reason") for n, t in QUARANTINE_COLUMNS.items()]
)
