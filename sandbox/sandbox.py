"""``Sandbox``: both CRM emulators started in-process, with helpers tests use to steer them.

::

    with Sandbox(seed=1, scale=3) as sb:
        sf = Salesforce(instance_url=sb.salesforce_url, session_id=sb.salesforce_session_id,
                        session=session_trusting(sb.ca_bundle))
        sb.set_faults("salesforce", expire_session_after=3)

Both servers are bound and serving when the constructor returns (no sleeps, no polling).
Salesforce is served over TLS because simple-salesforce only speaks https; the certificate
comes from a CA generated at start (trustme) whose PEM is at ``ca_bundle``. HubSpot is plain
HTTP: hubspot-api-client takes any ``host`` URL, so TLS would add nothing there.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import trustme

from sandbox import dataset, ids
from sandbox.hs_store import HubSpotStore
from sandbox.httpbase import HttpServer
from sandbox.hubspot import HubSpotApp
from sandbox.salesforce import SalesforceApp
from sandbox.sf_oauth import OAuth
from sandbox.sf_schema import sobject
from sandbox.sf_sharing import Principal
from sandbox.sf_store import SalesforceStore
from sandbox.world import World

SERVERS = ("salesforce", "hubspot")


class Sandbox:
    """The two sandbox CRMs, serving on loopback until :meth:`close`."""

    def __init__(
        self,
        seed: int = 1,
        scale: int = 3,
        data: dict[str, Any] | None = None,
        *,
        anchor: date | None = None,
        salesforce_port: int = 0,
        hubspot_port: int = 0,
        faults: dict[str, dict[str, Any]] | None = None,
        profile: str | None = None,
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",  # noqa: S107 - a fake local credential
    ) -> None:
        """Generate (or load ``data``) and start both servers.

        Args:
            seed: makes the generated data repeatable.
            scale: number of partners; about 500 activities each.
            data: exact records instead of generated ones (the ``--data`` JSON format).
            anchor: the day the data is "as of" (default today, UTC); fix it for golden files.
            salesforce_port: 0 picks a free port.
            hubspot_port: 0 picks a free port.
            faults: ``{"salesforce": {...}, "hubspot": {...}}`` active from the start.
            profile: ``"realistic"``: both servers answer with the published CRMs' latencies
                and limits (:mod:`sandbox.limits`) under every later fault spec that does not
                name another ``profile``; their keys in ``faults`` override single values.
            client_id: the OAuth client id the Salesforce token endpoint accepts.
            client_secret: its secret.
        """
        self.world = World.create(seed, scale, anchor)
        generated = data is None
        self.sf_store = SalesforceStore(self.world, generated=generated)
        self.hs_store = HubSpotStore(self.world, generated=generated)
        if data is not None:
            dataset.load(data, self.sf_store, self.hs_store)
        self._dir = Path(tempfile.mkdtemp(prefix="partnerplan-sandbox-"))
        ca = trustme.CA()
        self.ca_bundle = str(self._dir / "sandbox-ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.salesforce_client_id, self.salesforce_client_secret = client_id, client_secret
        self.oauth = OAuth(client_id, client_secret, self._dir)
        self.sf_app = SalesforceApp(self.sf_store, self.oauth)
        self.hs_app = HubSpotApp(self.hs_store)
        self._servers: list[HttpServer] = []
        try:
            sf_server = HttpServer(self.sf_app, salesforce_port, tls=context)
            self._servers.append(sf_server)
            hs_server = HttpServer(self.hs_app, hubspot_port)
            self._servers.append(hs_server)
        except BaseException:
            self.close()
            raise
        self.salesforce_url = self.sf_app.url = sf_server.url
        self.hubspot_url = self.hs_app.url = hs_server.url
        self.profile = profile
        unknown = sorted(set(faults or {}) - set(SERVERS))
        if unknown:
            self.close()
            raise ValueError(f"unknown sandbox servers {unknown}; use {SERVERS}")
        try:
            for server in SERVERS:
                app = self._app(server)
                app.faults.profile = profile
                spec = (faults or {}).get(server)
                if spec is not None or profile is not None:
                    self.set_faults(server, **(spec or {}))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop both servers and remove the generated CA files."""
        for server in self._servers:
            server.close()
        self._servers.clear()
        shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def salesforce_session_id(self) -> str:
        """A valid access token, usable directly as simple-salesforce's ``session_id``."""
        return self.sf_app.session_id

    @property
    def salesforce_refresh_token(self) -> str:
        """A refresh token the token endpoint accepts (refresh_token grant)."""
        return self.oauth.refresh_token

    @property
    def salesforce_username(self) -> str:
        """The integration user (password and JWT bearer grants)."""
        return self.oauth.username

    @property
    def salesforce_password(self) -> str:
        """Its password (the password grant also accepts password + security token)."""
        return self.oauth.password

    @property
    def salesforce_security_token(self) -> str:
        """Its security token."""
        return self.oauth.security_token

    @property
    def salesforce_private_key_file(self) -> str:
        """A PEM private key the JWT bearer grant trusts (generated on first access)."""
        return self.oauth.private_key_file

    def partner_session(self, partner_key: str) -> str:
        """A session of the partner portal user of ``partner_key``'s Account (created once).

        It is a valid access token like :attr:`salesforce_session_id`, but the org answers it as
        it answers a partner user (``sandbox/sf_sharing.py``): only plans shared with that
        Account (and their parts, its progress, its Account) can be read, only responses to
        them created, nothing edited.
        """
        accounts = self.sf_store.find_by("Account", "Partner_Key__c", partner_key)
        if not accounts:
            raise ValueError(f"no partner Account with Partner_Key__c {partner_key!r}")
        account = str(accounts[0]["Id"])
        users = [u for u in self.sf_store.find_by("User", "AccountId", account)]
        user = str(users[0]["Id"]) if users else self._partner_user(partner_key, account)
        return self.sf_app.partner_token(Principal(user, account))

    def _partner_user(self, partner_key: str, account: str) -> str:
        number = partner_key.rsplit("-", 1)[-1].lstrip("0") or "0"
        alias = f"pp{number}"[:8]
        return self.sf_store.insert(
            "User",
            {
                "FirstName": "Pat",
                "LastName": f"Partner {number}",
                "Username": f"pat.partner{number}@partner{number}.example.com.sandbox",
                "Alias": alias,
                "Email": f"pat@partner{number}.example.com",
                "IsActive": True,
                "ProfileId": ids.sf_id("00e", 2),
                "UserType": "PowerPartner",
                "AccountId": account,
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US",
                "EmailEncodingKey": "UTF-8",
            },
            trusted=True,
        )

    @property
    def hubspot_token(self) -> str:
        """The private-app bearer token."""
        return self.hs_app.token

    def _app(self, server: str) -> SalesforceApp | HubSpotApp:
        if server == "salesforce":
            return self.sf_app
        if server == "hubspot":
            return self.hs_app
        raise ValueError(f"unknown sandbox server {server!r}; use one of {SERVERS}")

    def set_faults(self, server: str, **spec: Any) -> None:
        """Replace ``server``'s fault spec (keys: :mod:`sandbox.faults`)."""
        self._app(server).set_faults(spec)

    def clear_faults(self, server: str) -> None:
        """No faults on ``server``."""
        self._app(server).set_faults({})

    def stats(self, server: str) -> dict[str, Any]:
        """Calls by endpoint, records served, total calls, write calls (as ``/__sandbox/stats``)."""
        return self._app(server).faults.stats()

    def reset_stats(self) -> None:
        """Zero both servers' counters (and the Salesforce daily API usage)."""
        self.sf_app.faults.reset_stats()
        self.hs_app.faults.reset_stats()

    def _sf_name(self, name: str) -> str:
        o = sobject(name)
        if o is None:
            raise ValueError(f"unknown Salesforce object {name!r}")
        return o.name

    def records(self, server: str, name: str) -> list[dict[str, Any]]:
        """Every record of an object in id order, rendered as the API does.

        Deleted records are included while the CRM still holds them (Salesforce: in the
        Recycle Bin, see ``recycle_bin_days``; HubSpot: archived).
        """
        if server == "salesforce":
            horizon = self.sf_app.purged_before()
            return self.sf_store.records(self._sf_name(name), purged_before=horizon)
        self._app(server)
        return self.hs_store.records(name)

    def touch(
        self, server: str, name: str, ids: list[str], changes: dict[str, Any] | None = None
    ) -> None:
        """Change records as a CRM user would: their modified stamps move to now."""
        if server == "salesforce":
            for record_id in ids:
                self.sf_store.update(self._sf_name(name), record_id, changes or {}, trusted=True)
            return
        self._app(server)
        self.hs_store.update_many(name, ids, changes or {})

    def delete(self, server: str, name: str, ids: list[str]) -> None:
        """Soft-delete: only ``queryAll`` / ``archived=true`` still see the records."""
        if server == "salesforce":
            for record_id in ids:
                self.sf_store.delete(self._sf_name(name), record_id)
            return
        self._app(server)
        self.hs_store.archive_many(name, ids)

    def insert(self, server: str, name: str, records: list[dict[str, Any]]) -> list[str]:
        """Create records with their system fields filled; return their ids."""
        if server == "salesforce":
            return [self.sf_store.insert(self._sf_name(name), r, trusted=True) for r in records]
        self._app(server)
        return self.hs_store.insert_many(name, records)
