"""Cloud page: cloud spend per provider and service from the billing exports, billed vs
effective vs list cost, charge kinds (usage, purchases, tax, credits), commitments and the most
expensive resources."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app import components as ui
from app import data_cloud, filters, theme

NO_CLOUD = (
    "No cloud billing yet",
    "load an export: `bimo load focus exports/focus/`, `aws-cur`, `azure`, `gcp` or `oci` "
    "(files, folders, globs or s3:// / gs:// / az:// URLs), or run `make demo`.",
)
MONEY = {
    c: st.column_config.NumberColumn(c.removesuffix("_usd").replace("_", " "), format="dollar")
    for c in ("billed_usd", "effective_usd", "list_usd", "saved_vs_list_usd")
}


def _daily(f: filters.Filters, tags: list[str]) -> None:
    """Billed cloud spend per day and provider, one chart per tag."""
    st.subheader("Daily cloud spend by provider")
    df = data_cloud.daily_by_provider(f)
    if df.is_empty():
        st.info("No cloud spend for these filters.")
        return
    for tag, part in ui.per_tag(df, tags):
        if part.is_empty():
            st.caption(f"{theme.badge(tag)} No cloud spend.")
            continue
        chart = (
            alt.Chart(part, height=260, title=theme.chart_title(tag))
            .mark_area()
            .encode(
                x=alt.X("charge_date:T", title=None),
                y=alt.Y("cost_usd:Q", title="billed USD per day", stack=True),
                color=alt.Color(
                    "provider:N",
                    scale=alt.Scale(scheme=theme.SOURCE_SCHEMES.get(tag, "greys"), reverse=True),
                ),
                tooltip=[
                    "charge_date:T",
                    "provider:N",
                    alt.Tooltip("cost_usd:Q", title="billed", format="$,.2f"),
                ],
            )
            .interactive(bind_y=False)
        )
        st.altair_chart(chart, width="stretch")
    st.caption("Areas stack the providers of one tag; tags are never added.")


def _services(f: filters.Filters) -> None:
    st.subheader("Services — billed vs effective vs list")
    df = data_cloud.services(f)
    ui.table(df, "cloud_services", column_config={"source_tag": "source", **MONEY})
    st.caption(
        "billed: the invoice · effective: amortized (commitments spread over the usage they "
        "cover) · list: before discounts · saved vs list = list − effective."
    )


def _charges_commitments(f: filters.Filters) -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Charge kinds")
        charges = data_cloud.charges(f)
        ui.table(charges, "cloud_charges", column_config=MONEY)
        st.caption("Tax and credits are dated to their period's first day.")
    with c2:
        st.subheader("Commitments")
        commitments = data_cloud.commitments(f)
        if commitments.is_empty():
            st.caption("No savings plan or reservation usage in the range.")
        else:
            ui.table(commitments, "cloud_commitments", column_config=MONEY)
            st.caption("`Unused` is commitment paid for but not used (effective cost).")


def render() -> None:
    """Draw the Cloud page."""
    st.title("Cloud")
    st.markdown(theme.legend_markdown())
    if not data_cloud.has_cloud():
        ui.missing(*NO_CLOUD)
        return
    f = filters.current()
    tags = f.tags()
    _daily(f, tags)
    _services(f)
    _charges_commitments(f)
    st.subheader("Most expensive resources")
    resources = data_cloud.top_resources(f)
    if resources.is_empty():
        st.caption("The exports name no resources for these filters.")
    else:
        ui.table(resources, "cloud_resources", column_config=MONEY)


render()
