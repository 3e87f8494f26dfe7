"""Secrets with a recognisable shape: provider tokens, JWTs, private keys, URL credentials.

Each :class:`SecretFormat` is one entry of a table, so adding a format is adding a row. The
regular expressions are adapted from gitleaks' published rules (MIT, Copyright (c) 2019
Zachary Rice; rule ids in the comments) and rewritten for Python's backtracking ``re``: each
starts with a literal or a rare character (so ``re`` finds candidates with its fast literal
search instead of trying every position), has bounded repetitions only (no catastrophic
backtracking on hostile tool output), and checks the word boundary before a match in Python
(a leading ``\\b`` or look-behind would turn off that fast search). ``docs/recording.md``
says why the rules are adapted rather than loaded from gitleaks' TOML.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from toolwise.errors import InvalidArgumentError

__all__ = ["DEFAULT_FORMATS", "SecretFormat"]


@dataclass(frozen=True, slots=True)
class SecretFormat:
    """One kind of secret recognised by its shape alone.

    Args:
        name: a stable identifier (gitleaks' rule id where there is one).
        triggers: literals, one of which every match starts with; the text is searched for
            them with ``str.find`` (fast whatever the letters) and the pattern is tried only
            there.
        pattern: a Python regular expression tried at each trigger. A fixed-width look-behind
            may check what comes before; a named group ``lead`` inside it joins the secret.
        group: the group holding the secret (0: the whole match); the rest stays readable,
            e.g. the host of a webhook URL.
        word_start: the secret must not continue a word (``task-…`` is not an ``sk-`` key).
            Formats whose prefix no word contains (``ghp_``, ``xoxb-``, ``sk_live_``) leave it
            off: an error class glued to a token (``Errghp_…``) must not hide it.
        check: an extra test on the secret (e.g. base64 that decodes to a private key).
        lowered: match a lower-case pattern and triggers against the lower-cased text
            (case-insensitive words like ``Bearer``); spans are the same.
    """

    name: str
    triggers: tuple[str, ...]
    pattern: str
    group: int = 0
    word_start: bool = False
    check: Callable[[str], bool] | None = None
    lowered: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.triggers or not all(isinstance(t, str) and t for t in self.triggers):
            raise InvalidArgumentError("triggers", self.triggers, "give non-empty literals")
        object.__setattr__(self, "regex", re.compile(self.pattern))


def _decodes_to_private_key(value: str) -> bool:
    """Base64 text whose first bytes are a PEM private-key header (kubeconfig, k8s Secrets)."""
    head = value[:96]
    head = head[: len(head) - len(head) % 4]
    try:
        return b"PRIVATE KEY" in base64.b64decode(head)
    except (binascii.Error, ValueError):
        return False


def _not_a_word(value: str) -> bool:
    """``Basic <base64>``, ``Bearer <token>``: a digit, a symbol, mixed case or too long for
    a word. "Basic authentication" and "bearer credentials" are prose, not credentials.
    """
    return (
        not value.isalpha()
        or len(value) >= 20
        or (value != value.lower() and value != value.upper() and not value.istitle())
    )


_END = r"(?![A-Za-z0-9_-])"  # the token ends here: a longer run is something else
F = SecretFormat

DEFAULT_FORMATS: tuple[SecretFormat, ...] = (
    # -- cloud ---------------------------------------------------------------------------------
    F("aws-access-key-id", ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),  # gitleaks aws-access-token
      r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])", word_start=True),
    F("gcp-api-key", ("AIza",), r"AIza[0-9A-Za-z_-]{35}" + _END),
    F("gcp-oauth-access-token", ("ya29.",), r"ya29\.[0-9A-Za-z_-]{20,2048}", word_start=True),
    F("gcp-oauth-refresh-token", ("1//0",), r"1//0[0-9A-Za-z_-]{30,512}", word_start=True),
    F("gcp-oauth-client-secret", ("GOCSPX-",), r"GOCSPX-[0-9A-Za-z_-]{28}" + _END),
    F("azure-ad-client-secret", ("Q~",),  # gitleaks azure-ad-client-secret
      r"(?<=(?P<lead>[A-Za-z0-9_~.]{3}\d))Q~[A-Za-z0-9_~.-]{31,34}", word_start=True),
    F("azure-sas-signature", ("sig=",), r"sig=(?<=[?&]sig=)([A-Za-z0-9%+/=_-]{16,512})",
      group=1),
    F("aws-presigned-signature", ("X-Amz-Signature=",),
      r"X-Amz-Signature=([A-Za-z0-9%+/=_-]{16,512})", group=1),
    F("digitalocean-token", ("do",), r"do[opr]_v1_[a-f0-9]{64}"),
    F("alibaba-access-key-id", ("LTAI",), r"LTAI[A-Za-z0-9]{20}" + _END, word_start=True),
    F("heroku-api-key", ("HRKU-AA",), r"HRKU-AA[0-9A-Za-z_-]{58}", word_start=True),
    # -- source control, CI, registries ----------------------------------------------------------
    F("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"gh[pousr]_[A-Za-z0-9]{30,255}"),
    F("github-fine-grained-pat", ("github_pat_",), r"github_pat_[A-Za-z0-9_]{22,255}"),
    F("gitlab-token", ("gl",),
      r"gl(?:pat|dt|rt|ptt|cbt|oas|soat|ffct|imt|agent|ft|cd)-[0-9A-Za-z_.-]{20,300}"),
    F("bitbucket-app-password", ("ATBB",), r"ATBB[A-Za-z0-9_=.-]{28,255}", word_start=True),
    F("atlassian-api-token", ("ATATT3", "ATCTT3"), r"AT[AC]TT3[A-Za-z0-9_=-]{60,512}",
      word_start=True),
    F("circleci-token", ("CCIPAT_", "CCIPRJ_"), r"CCIP(?:AT|RJ)_[A-Za-z0-9]{16,64}_[a-f0-9]{40}"),
    F("npm-token", ("npm_",), r"npm_[A-Za-z0-9]{36}" + _END, word_start=True),
    F("pypi-token", ("pypi-AgEIcHlwaS5vcmc",), r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}"),
    F("dockerhub-token", ("dckr_",), r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,128}"),
    F("terraform-cloud-token", (".atlasv1.",),  # gitleaks hashicorp-tf-api-token
      r"(?<=(?P<lead>[A-Za-z0-9]{14}))\.atlasv1\.[A-Za-z0-9_=-]{60,70}"),
    F("vault-token", ("hvs.", "hvb.", "hvr."), r"hv[sbr]\.[A-Za-z0-9_-]{24,512}",
      word_start=True),
    F("grafana-token", ("glsa_", "glc_"), r"gl(?:sa|c)_[A-Za-z0-9+/_]{32,400}={0,3}",
      word_start=True),
    F("grafana-api-key", ("eyJrIjoi",), r"eyJrIjoi[A-Za-z0-9]{40,400}={0,3}"),
    F("sentry-token", ("sntrys_", "sntryu_"), r"sntry[su]_[A-Za-z0-9+/=_]{60,512}",
      word_start=True),
    F("databricks-token", ("dapi",), r"dapi[a-f0-9]{32}(?:-\d)?" + _END, word_start=True),
    F("doppler-token", ("dp.",), r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}",
      word_start=True),
    F("linear-api-key", ("lin_",), r"lin_(?:api|oauth)_[A-Za-z0-9]{40}", word_start=True),
    F("new-relic-key", ("NRAK-", "NRII-", "NRJS-"), r"NR(?:AK|II|JS)-[A-Za-z0-9-]{19,40}",
      word_start=True),
    F("postman-api-key", ("PMAK-",), r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}"),
    F("onepassword-service-token", ("ops_eyJ",), r"ops_eyJ[A-Za-z0-9+/=_-]{100,4096}"),
    F("age-secret-key", ("AGE-SECRET-KEY-1",),
      r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    # -- chat and webhooks -----------------------------------------------------------------------
    F("slack-token", ("xox",), r"xox[abposer]-[A-Za-z0-9-]{10,255}"),
    F("slack-app-token", ("xapp-",), r"xapp-\d-[A-Za-z0-9-]{10,255}", word_start=True),
    F("slack-webhook", ("hooks.slack.com/",),  # the host stays: which service, not the key
      r"hooks\.slack\.com/((?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,255})", group=1),
    F("discord-webhook", ("discord.com/api/webhooks/", "discordapp.com/api/webhooks/"),
      r"discord(?:app)?\.com/api/webhooks/(\d{5,30}/[A-Za-z0-9_-]{20,255})", group=1),
    F("teams-webhook", (".webhook.office.com/",),
      r"\.webhook\.office\.com/(webhookb2/[A-Za-z0-9@/_-]{20,512})", group=1),
    F("telegram-bot-token", (":AA",), r"(?<=\d{8}):(AA[A-Za-z0-9_-]{33})" + _END, group=1),
    # -- payments --------------------------------------------------------------------------------
    F("stripe-key", ("sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"),
      r"[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,255}"),
    F("stripe-webhook-secret", ("whsec_",), r"whsec_[A-Za-z0-9+/=]{24,128}"),
    F("square-token", ("sq0atp-", "sq0csp-"), r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,60}",
      word_start=True),
    F("braintree-token", ("access_token$",),
      r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}"),
    F("shopify-token", ("shpat_", "shpca_", "shppa_", "shpss_"),
      r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    # -- SaaS and model APIs ---------------------------------------------------------------------
    F("sendgrid-api-key", ("SG.",), r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    F("twilio-api-key", ("SK",), r"SK[0-9a-fA-F]{32}(?![0-9A-Za-z])", word_start=True),
    F("mailgun-api-key", ("key-",), r"key-[0-9a-f]{32}(?![0-9A-Za-z])"),
    F("mailchimp-api-key", ("-us",), r"(?<=(?P<lead>[0-9a-f]{32}))-us\d{1,2}(?![0-9])",
      word_start=True),
    F("openai-api-key", ("sk-",),  # sk-, sk-proj-, sk-svcacct-, sk-admin-; Anthropic's sk-ant-
      r"sk-[A-Za-z0-9_-]{20,512}", word_start=True),
    F("anthropic-api-key", ("sk-ant-",), r"sk-ant-[a-z]{2,8}\d{2}-[A-Za-z0-9_-]{20,512}"),
    F("huggingface-token", ("hf_", "api_org_"), r"(?:hf_|api_org_)[A-Za-z]{34}" + _END,
      word_start=True),
    F("groq-api-key", ("gsk_",), r"gsk_[A-Za-z0-9]{52}" + _END, word_start=True),
    F("replicate-api-token", ("r8_",), r"r8_[A-Za-z0-9]{37}" + _END, word_start=True),
    F("perplexity-api-key", ("pplx-",), r"pplx-[A-Za-z0-9]{48}" + _END, word_start=True),
    F("xai-api-key", ("xai-",), r"xai-[A-Za-z0-9]{70,100}" + _END, word_start=True),
    # -- generic shapes --------------------------------------------------------------------------
    F("jwt", ("eyJ",),  # header.payload.signature, and JWE's five parts
      r"eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}(?:\.[A-Za-z0-9_-]{0,4096}){1,3}",
      word_start=True),
    F("private-key", ("-----BEGIN",),  # gitleaks private-key; escaped newlines; a cut key too
      r"-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
      r"(?:-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"),
    F("private-key-base64", ("LS0tLS1CRUdJTi",),  # PEM, base64 again (kubeconfig, k8s Secrets)
      r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{20,16384}={0,2}", check=_decodes_to_private_key),
    F("putty-private-key", ("Private-Lines:",),
      r"Private-Lines: *\d+(?:\r?\n|\\n)(?:[A-Za-z0-9+/=]{1,128}(?:\r?\n|\\n|\Z)){1,64}"),
    F("url-credentials", ("://",),  # scheme://user:password@host: user and host stay readable
      r"://[^\s:@/?#'\"]{0,256}:([^\s/?#'\"]{1,512})@", group=1),
    F("basic-credentials", ("basic",),  # a Basic credential without its header
      r"basic[ \t]+([a-z0-9+/]{8,1024}={0,2})", group=1, word_start=True,
      check=_not_a_word, lowered=True),
    F("bearer-token", ("bearer",), r"bearer[ \t]+([a-z0-9._~+/=-]{7,8191}[a-z0-9_~+/=-])", group=1,
      word_start=True, check=_not_a_word, lowered=True),
)  # fmt: skip
