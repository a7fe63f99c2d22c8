"""The README's reliability table states what the suite actually runs."""

from tests.reliability.summary import ROOT, table


def test_readme_table_matches_the_suite():
    expected = table()
    readme = (ROOT / "README.md").read_text()
    assert expected in readme, (
        "README.md's reliability table is out of date; paste the output of "
        "`.venv/bin/python -m tests.reliability.summary`:\n" + expected
    )
