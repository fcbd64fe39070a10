"""Bulk API 2.0 results are parsed as they stream in, exactly as the whole body would be."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
import requests
import responses

from connectors.salesforce import bulk
from connectors.salesforce.connector import SalesforceConnector
from partnerplan.errors import RetriableError
from tests.connectors.conftest import INSTANCE, TOKEN_URL, sf_source
from tests.connectors.salesforce.test_bulk import JOB
from tests.connectors.salesforce.test_connector import ACCOUNT, BASE, OPPORTUNITY, SPEC

TRICKY = (
    '"Id","Name","Note"\n'
    '"1","plain","one line"\n'
    '"2","quoted ""name""","two\nlines"\n'
    '"3","Zoë Müller — 日本","crlf\r\ninside"\n'
    '"4",,"ends with a quote """\n'
    '"5",line\u2028separator,"nul\x00dropped"\n'
    '"6","","a ""quoted""\nand a newline, both"\n'
    '"7","last","no final newline"'
)


def whole(text: str) -> list[list[str]]:
    """What the former whole-body parse returned."""
    return list(csv.reader(io.StringIO(text.replace("\x00", ""))))


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 64, 4096])
def test_streamed_lines_parse_as_the_whole_body(size):
    """Chunks that end inside a quoted field, a multi-byte character or a CRLF change nothing."""
    data = TRICKY.encode("utf-8")
    assert list(csv.reader(bulk.csv_lines(pieces(data, size)))) == whole(TRICKY)


def test_every_chunk_boundary_of_a_quoted_newline_parses_the_same():
    """Each cut position of the body, one at a time, gives the same rows."""
    data = TRICKY.encode("utf-8")
    expected = whole(TRICKY)
    for cut in range(1, len(data)):
        assert list(csv.reader(bulk.csv_lines([data[:cut], data[cut:]]))) == expected, cut


def test_a_results_body_is_read_in_chunks_not_whole(bulk_mock, monkeypatch):
    """Records from a body streamed 7 bytes at a time equal the whole-body parse."""
    mock, connector = bulk_mock
    rows = ['"Id","SystemModstamp","Amount","PartnerAccount.Partner_Key__c","PartnerAccountId"']
    for n in range(1, 41):
        key = f'P-"{n}"\n' if n % 3 else f"P-{n}"
        quoted = key.replace('"', '""')
        rows.append(
            f'"006{n:015d}","2026-03-01T10:00:{n % 60:02d}.000Z","{n}.50","{quoted}","001{n:015d}"'
        )
    body = "\n".join(rows) + "\n"
    mock.get(f"{BASE}/jobs/query/{JOB}", json={"id": JOB, "state": "JobComplete"})
    mock.get(f"{BASE}/jobs/query/{JOB}/results", body=body, headers={"Sforce-Locator": "null"})
    read: list[int] = []
    original = bulk.csv_lines

    def counting(chunks):
        def sizes():
            for chunk in chunks:
                read.append(len(chunk))
                yield chunk

        return original(sizes())

    monkeypatch.setattr(bulk, "CHUNK_BYTES", 7)
    monkeypatch.setattr(bulk, "csv_lines", counting)
    records = [r for page in connector.pull(SPEC, None) for r in page.records]
    keys = [r["PartnerAccount"]["Partner_Key__c"] for r in records]
    assert keys == [f'P-"{n}"\n' if n % 3 else f"P-{n}" for n in range(1, 41)]
    assert max(read) == 7 and sum(read) == len(body.encode())


def test_a_connection_lost_mid_body_is_retriable():
    """A body that breaks off raises the retriable error that restarts the load next run."""

    class Broken:
        closed = False

        def iter_content(self, size):
            yield b'"Id"\n"1"\n'
            raise requests.exceptions.ChunkedEncodingError("connection reset")

        def close(self):
            self.closed = True

    response = Broken()
    with pytest.raises(RetriableError, match="retried on the next run"):
        list(bulk.csv_lines(bulk._chunks(response)))  # type: ignore[arg-type]
    assert response.closed


@pytest.fixture
def bulk_mock(no_sleep):
    """A connector whose first pull goes to Bulk 2.0 (COUNT 5 > threshold 1)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json={"access_token": "tok", "instance_url": INSTANCE})
        mock.get(f"{BASE}/sobjects/Opportunity/describe/", json=OPPORTUNITY)
        mock.get(f"{BASE}/sobjects/Account/describe/", json=ACCOUNT)
        mock.get(f"{BASE}/query/", json={"totalSize": 5, "done": True, "records": []})
        mock.post(f"{BASE}/jobs/query", json={"id": JOB, "state": "UploadComplete"})
        yield mock, SalesforceConnector("sf", sf_source(bulk_threshold=1), retry=no_sleep)
