"""The part of the hub's settings that node handlers read: external services and their credentials.

The hub's ``Settings`` builds this from the environment; handlers only ever see these typed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from handlers.egress import AllowRule, EgressPolicy, trusted_rules


@dataclass(frozen=True)
class OpenAISettings:
    api_key: str | None = None
    base_url: str | None = None
    timeout_seconds: float = 120.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int = 587
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    sender: str | None = None
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str | None = None
    auth_token: str | None = None
    sender: str | None = None
    base_url: str = "https://api.twilio.com"


@dataclass(frozen=True)
class EsiosSettings:
    api_token: str | None = None
    base_url: str = "https://api.esios.ree.es"


@dataclass(frozen=True)
class ClimatiqSettings:
    api_key: str | None = None
    base_url: str = "https://api.climatiq.io"
    concurrency: int = 4


@dataclass(frozen=True)
class TemplateLimits:
    """What one config template may be, and what one render may do (HUB_TEMPLATE_*)."""

    max_chars: int = 64 * 1024
    """The longest single template or condition expression, in characters."""
    max_workflow_chars: int = 512 * 1024
    """All the templates of one workflow together, in characters."""
    max_output_kb: int = 1024
    """The text one render may produce, and the size of any one string it builds along the way."""
    max_iterations: int = 100_000
    """Loop iterations one render may make, all loops together."""
    max_seconds: float = 10.0
    """How long one render may take (a node's own timeout, when shorter, stops it first)."""


@dataclass(frozen=True)
class NodeSettings:
    """Settings for every node type, with the secrets among them listed for redaction."""

    http_timeout_seconds: float = 30.0
    """The whole of one call (connect, send, every byte of the answer), not each read."""
    max_response_mb: float = 10.0
    """The largest http node answer once decompressed (HUB_HTTP_MAX_RESPONSE_MB)."""
    egress_allow: tuple[AllowRule, ...] = ()
    """Holes in the egress guard (HUB_EGRESS_ALLOW); the base URLs below are allowed as well."""
    max_file_mb: float = 50.0
    """The largest file a node downloads (excelInput, pdfInput from a url); HUB_MAX_UPLOAD_MB, as for uploads."""
    max_uncompressed_mb: float = 200.0
    """What the parts of one .xlsx may unpack to, each and all together (HUB_MAX_UNCOMPRESSED_MB)."""
    join_max_rows: int = 100_000
    """The most rows a join node's record join may produce (HUB_JOIN_MAX_ROWS)."""
    templates: TemplateLimits = field(default_factory=TemplateLimits)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    esios: EsiosSettings = field(default_factory=EsiosSettings)
    climatiq: ClimatiqSettings = field(default_factory=ClimatiqSettings)
    mysql_urls: Mapping[str, str] = field(default_factory=dict)
    mysql_timeout_seconds: float = 30.0

    def egress_policy(self) -> EgressPolicy:
        """What workflow-supplied URLs may reach: HUB_EGRESS_ALLOW, and the services the operator configured."""
        urls = (self.openai.base_url, self.twilio.base_url, self.esios.base_url, self.climatiq.base_url)
        return EgressPolicy(self.egress_allow + trusted_rules(urls))

    def secrets(self) -> list[str]:
        """Every credential value, so that logs, events and outputs can be scrubbed of them."""
        values = [
            self.openai.api_key,
            self.smtp.password,
            self.twilio.auth_token,
            self.esios.api_token,
            self.climatiq.api_key,
        ]
        for url in self.mysql_urls.values():
            values.extend(_url_passwords(url))
        return [value for value in values if value]


def _url_passwords(url: str) -> list[str]:
    """A URL's password as written (percent-encoded) and as sent."""
    password = urlsplit(url).password
    return [password, unquote(password)] if password else []
