"""The redaction corpus: secrets as DevOps tools print them, and output that must survive.

Every secret below is fake, generated from a fixed seed in the shape the provider documents.
A :class:`Sample` names its format, the text a tool would return, the secret parts that must
not survive and the context that must (over-redaction destroys learning signal). ``NEAR_MISSES``
are ordinary outputs — commit SHAs, UUIDs, image digests, pod names, ARNs, prose about tokens —
that must come back unchanged.
"""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass

_rng = random.Random(20_260_722)
_ALNUM = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"
_B64 = _ALNUM + "+/"


def rand(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def b64(n: int) -> str:
    return rand(_B64, n)


@dataclass(frozen=True)
class Sample:
    """A secret in context: ``secrets`` must not survive redaction, ``keep`` must."""

    format: str
    text: str
    secrets: tuple[str, ...]
    keep: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.format


def _s(fmt: str, text: str, *secrets: str, keep: tuple[str, ...] = ()) -> Sample:
    return Sample(fmt, text, secrets, keep)


# -- generated secrets (kept in variables so the text and the check agree) -------------------
AWS_ID = "AKIA" + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
AWS_STS_ID = "ASIA" + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
AWS_SECRET = rand(_ALNUM + "/+", 40)
AWS_SESSION = "FwoGZXIvYXdzE" + b64(120)
GCP_KEY = "AIza" + rand(_ALNUM + "_-", 35)
GCP_PEM_BODY = b64(64)
GCP_KEY_ID = rand(_HEX, 40)
PEM_BODY = "\n".join(b64(64) for _ in range(6))
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    + "eyJ"
    + rand(_ALNUM + "_-", 90)
    + "."
    + rand(_ALNUM + "_-", 86)
)
BASIC = base64.b64encode(b"deploy-bot:" + rand(_ALNUM, 16).encode()).decode()
PRIVATE_KEY_B64 = base64.b64encode(
    b"-----BEGIN RSA PRIVATE KEY-----\n" + b64(200).encode() + b"\n-----END RSA PRIVATE KEY-----\n"
).decode()

SAMPLES: tuple[Sample, ...] = (
    # -- cloud -------------------------------------------------------------------------------
    _s("aws-access-key-id", f"aws configure set aws_access_key_id {AWS_ID}", AWS_ID,
       keep=("aws configure set",)),
    _s("aws-sts-credentials",
       f'{{"Credentials": {{"AccessKeyId": "{AWS_STS_ID}", "SecretAccessKey": "{AWS_SECRET}", '
       f'"SessionToken": "{AWS_SESSION}", "Expiration": "2026-07-22T10:00:00Z"}}}}',
       AWS_STS_ID, AWS_SECRET, AWS_SESSION, keep=("2026-07-22T10:00:00Z",)),
    _s("aws-secret-access-key", f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    _s("aws-presigned-url",
       f"https://backups.s3.amazonaws.com/db.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
       f"&X-Amz-Credential={AWS_ID}%2F20260722%2Feu-west-1%2Fs3%2Faws4_request"
       f"&X-Amz-Signature={rand(_HEX, 64)}",
       AWS_ID, keep=("backups.s3.amazonaws.com/db.tar.gz",)),
    _s("gcp-api-key",
       f"GET https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key={GCP_KEY}",
       GCP_KEY, keep=("address=Berlin",)),
    _s("gcp-service-account",
       '{"type": "service_account", "project_id": "prod-42", '
       f'"private_key_id": "{GCP_KEY_ID}", "private_key": "-----BEGIN PRIVATE KEY-----\\n'
       f'{GCP_PEM_BODY}\\n-----END PRIVATE KEY-----\\n", '
       '"client_email": "deployer@prod-42.iam.gserviceaccount.com"}',
       GCP_KEY_ID, GCP_PEM_BODY, keep=("deployer@prod-42.iam.gserviceaccount.com",)),
    _s("gcp-oauth-access-token", "token refreshed: ya29.a0Af" + rand(_ALNUM + "_-", 60),
       "a0Af", keep=("token refreshed",)),
    _s("gcp-oauth-refresh-token", "stored 1//0g" + rand(_ALNUM + "_-", 40) + " in keyring",
       "1//0g", keep=("in keyring",)),
    _s("gcp-oauth-client-secret", "client GOCSPX-" + rand(_ALNUM + "_-", 28) + " loaded",
       "GOCSPX-"),
    _s("azure-storage-connection-string",
       "DefaultEndpointsProtocol=https;AccountName=prodstore;AccountKey="
       + (azure_key := b64(86) + "==") + ";EndpointSuffix=core.windows.net",
       azure_key, keep=("AccountName=prodstore", "EndpointSuffix=core.windows.net")),
    _s("azure-sas-url",
       "https://prodstore.blob.core.windows.net/backups/db.bak?sv=2022-11-02&ss=b&srt=o&sp=r"
       "&se=2026-08-01T00:00:00Z&sig="
       + (sas := rand(_ALNUM, 40) + "%2B" + rand(_ALNUM, 6) + "%3D"),
       sas, keep=("sv=2022-11-02", "prodstore.blob.core.windows.net")),
    _s("azure-service-bus",
       "Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
       "SharedAccessKey=" + (sb_key := b64(43) + "="),
       sb_key, keep=("SharedAccessKeyName=RootManageSharedAccessKey",)),
    _s("azure-ad-client-secret",
       "az login --service-principal -u 0b1c2d3e -p "
       + (ad := rand(_ALNUM, 3) + "8Q~" + rand(_ALNUM + "_~.-", 34)) + " --tenant contoso",
       ad, keep=("--tenant contoso",)),
    _s("digitalocean-token", "doctl auth init -t dop_v1_" + rand(_HEX, 64), "dop_v1_"),
    _s("alibaba-access-key-id", "ALIBABA_CLOUD_ACCESS_KEY_ID LTAI" + rand(_ALNUM, 20), "LTAI"),
    _s("heroku-api-key", "heroku token HRKU-AA" + rand(_ALNUM + "_-", 58), "HRKU-AA"),
    # -- source control, CI, registries ----------------------------------------------------------
    _s("github-token",
       "git clone https://" + (ghp := "ghp_" + rand(_ALNUM, 36)) + "@github.com/acme/api.git",
       ghp, keep=("github.com/acme/api.git",)),
    _s("github-app-token", '{"token": "ghs_' + rand(_ALNUM, 36) + '", "expires_at": "2026"}',
       "ghs_", keep=("expires_at",)),
    _s("github-fine-grained-pat", "GH_TOKEN=github_pat_11A" + rand(_ALNUM + "_", 79),
       "github_pat_"),
    _s("gitlab-token",
       "git remote add origin https://oauth2:" + (glpat := "glpat-" + rand(_ALNUM + "_-", 20))
       + "@gitlab.com/acme/api.git", glpat, keep=("gitlab.com/acme/api.git",)),
    _s("gitlab-runner-token", "gitlab-runner register --token glrt-" + rand(_ALNUM + "_-", 20),
       "glrt-"),
    _s("bitbucket-app-password", "BITBUCKET_APP_PASSWORD ATBB" + rand(_ALNUM, 32), "ATBB"),
    _s("atlassian-api-token", "jira login with ATATT3xFfGF0" + rand(_ALNUM + "_-", 180),
       "ATATT3", keep=("jira login",)),
    _s("circleci-token",
       "circleci setup --token CCIPAT_" + rand(_ALNUM, 22) + "_" + rand(_HEX, 40), "CCIPAT_"),
    _s("circleci-legacy-token", "Circle-Token: " + (circle := rand(_HEX, 40)), circle,
       keep=("Circle-Token",)),
    _s("npm-token", "//registry.npmjs.org/:_authToken=" + (npm := "npm_" + rand(_ALNUM, 36)),
       npm, keep=("registry.npmjs.org",)),
    _s("pypi-token",
       "twine upload -u __token__ --password pypi-AgEIcHlwaS5vcmc" + rand(_ALNUM + "_-", 120)
       + " dist/*", "pypi-AgEI", keep=("dist/*",)),
    _s("dockerhub-token", "echo dckr_pat_" + rand(_ALNUM + "_-", 27) + " | docker login",
       "dckr_pat_", keep=("docker login",)),
    _s("docker-config-auth",
       '{"auths": {"registry.acme.io": {"auth": "' + BASIC + '", "identitytoken": "'
       + (ident := rand(_ALNUM, 32)) + '"}}}', BASIC, ident),
    _s("terraform-cloud-token",
       'credentials "app.terraform.io" { token = "' + rand(_ALNUM, 14) + ".atlasv1."
       + rand(_ALNUM, 67) + '" }', "atlasv1", keep=("app.terraform.io",)),
    _s("vault-token", "VAULT_TOKEN=hvs." + rand(_ALNUM + "_-", 95), "hvs."),
    _s("vault-token-in-header", "curl -H 'X-Vault-Token: hvs." + rand(_ALNUM, 90) + "' ...",
       "hvs."),
    _s("grafana-service-account-token",
       "glsa_" + rand(_ALNUM, 32) + "_" + rand(_HEX, 8) + " added to datasource", "glsa_",
       keep=("added to datasource",)),
    _s("grafana-api-key", "GF_API_KEY eyJrIjoi" + rand(_ALNUM, 60) + "==", "eyJrIjoi"),
    _s("sentry-token", "SENTRY_AUTH sntryu_" + rand(_HEX, 64), "sntryu_"),
    _s("databricks-token", "databricks configure dapi" + rand(_HEX, 32), "dapi"),
    _s("doppler-token", "doppler setup dp.pt." + rand(_ALNUM, 43), "dp.pt."),
    _s("linear-api-key", "linear lin_api_" + rand(_ALNUM, 40), "lin_api_"),
    _s("new-relic-key", "newrelic NRAK-" + rand(string.ascii_uppercase + string.digits, 27),
       "NRAK-"),
    _s("postman-api-key", "postman PMAK-" + rand(_HEX, 24) + "-" + rand(_HEX, 34), "PMAK-"),
    _s("onepassword-service-token", "OP_SERVICE ops_eyJ" + b64(300), "ops_eyJ"),
    _s("age-secret-key",
       "AGE-SECRET-KEY-1" + (age := rand("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)), age),
    # -- chat and webhooks -----------------------------------------------------------------------
    _s("slack-bot-token", "SLACK_BOT xoxb-1234567890-1234567890123-" + rand(_ALNUM, 24),
       "xoxb-"),
    _s("slack-app-token", "xapp-1-A0123ABCD-1234567890-" + rand(_HEX, 64), "xapp-"),
    _s("slack-webhook",
       "POST https://hooks.slack.com/services/" + (slack := "T0123ABCD/B0123ABCD/"
                                                  + rand(_ALNUM, 24)) + " -> 200 ok",
       slack, keep=("hooks.slack.com", "200 ok")),
    _s("discord-webhook",
       "https://discord.com/api/webhooks/"
       + (disc := "123456789012345678/" + rand(_ALNUM + "_-", 68)),
       disc, keep=("discord.com/api/webhooks",)),
    _s("teams-webhook",
       "https://acme.webhook.office.com/webhookb2/" + (teams := rand(_HEX, 8) + "-aaaa-bbbb-cccc-"
       + rand(_HEX, 12) + "@" + rand(_HEX, 8) + "/IncomingWebhook/" + rand(_HEX, 32)),
       teams, keep=("acme.webhook.office.com",)),
    _s("telegram-bot-token",
       "GET https://api.telegram.org/bot123456789:" + (tg := "AA" + rand(_ALNUM + "_-", 33))
       + "/getMe", tg, keep=("api.telegram.org",)),
    # -- payments --------------------------------------------------------------------------------
    _s("stripe-secret-key", "STRIPE_KEY=sk_live_" + rand(_ALNUM, 24), "sk_live_"),
    _s("stripe-restricted-key", "stripe.api_key = 'rk_live_" + rand(_ALNUM, 24) + "'", "rk_live_"),
    _s("stripe-webhook-secret", "endpoint secret whsec_" + rand(_ALNUM, 32), "whsec_"),
    _s("square-token", "square sq0atp-" + rand(_ALNUM + "_-", 22), "sq0atp-"),
    _s("braintree-token",
       "BRAINTREE access_token$production$" + rand("abcdefghijklmnopqrstuvwxyz0123456789", 16)
       + "$" + rand(_HEX, 32), "access_token$production$"),
    _s("shopify-token", "X-Shopify-Access-Token: shpat_" + rand(_HEX, 32), "shpat_"),
    # -- SaaS and model APIs ---------------------------------------------------------------------
    _s("sendgrid-api-key",
       "sendgrid SG." + rand(_ALNUM + "_-", 22) + "." + rand(_ALNUM + "_-", 43), "SG."),
    _s("twilio-credentials",
       "TWILIO_API_KEY SK" + rand(_HEX, 32) + " TWILIO_AUTH_TOKEN=" + (tw := rand(_HEX, 32)),
       "TWILIO_API_KEY SK", tw),
    _s("mailgun-api-key", "MAILGUN key-" + rand(_HEX, 32), "key-"),
    _s("mailchimp-api-key", "mailchimp " + (mc := rand(_HEX, 32) + "-us21"), mc),
    _s("datadog-api-key", "DD_API_KEY=" + (dd := rand(_HEX, 32)) + " DD_SITE=datadoghq.eu", dd,
       keep=("DD_SITE=datadoghq.eu",)),
    _s("openai-api-key", "OPENAI sk-proj-" + rand(_ALNUM + "_-", 120), "sk-proj-"),
    _s("anthropic-api-key",
       "ANTHROPIC sk-ant-api03-" + rand(_ALNUM + "_-", 93) + "AA", "sk-ant-api03-"),
    _s("huggingface-token", "huggingface-cli login --token hf_" + rand(string.ascii_letters, 34),
       "hf_"),
    _s("groq-api-key", "groq gsk_" + rand(_ALNUM, 52), "gsk_"),
    _s("replicate-api-token", "replicate r8_" + rand(_ALNUM, 37), "r8_"),
    _s("perplexity-api-key", "pplx pplx-" + rand(_ALNUM, 48), "pplx-"),
    _s("xai-api-key", "grok xai-" + rand(_ALNUM, 80), "xai-"),
    # -- generic shapes --------------------------------------------------------------------------
    _s("jwt", f"session established with {JWT} for ada", JWT[:40], JWT[-30:],
       keep=("session established with", "for ada")),
    _s("jwt-in-cookie", f"Set-Cookie: id_token={JWT}; Path=/; HttpOnly", JWT[:40]),
    _s("private-key-rsa",
       f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\nwritten",
       *PEM_BODY.split("\n"), keep=("written",)),
    _s("private-key-ec", f"-----BEGIN EC PRIVATE KEY-----\n{b64(64)}\n-----END EC PRIVATE KEY-----",
       "-----BEGIN EC PRIVATE KEY-----\n"),
    _s("private-key-openssh",
       "cat ~/.ssh/id_ed25519\n-----BEGIN OPENSSH PRIVATE KEY-----\n"
       + (ossh := b64(70)) + "\n-----END OPENSSH PRIVATE KEY-----", ossh,
       keep=("cat ~/.ssh/id_ed25519",)),
    _s("private-key-pgp",
       "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + (pgp := b64(64)) + "\n=Ab1c\n"
       "-----END PGP PRIVATE KEY BLOCK-----", pgp),
    _s("private-key-encrypted",
       "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + (enc := b64(64)) + "\n", enc),
    _s("private-key-cut-off", "key: -----BEGIN PRIVATE KEY-----\n" + (cut := b64(64)), cut),
    _s("private-key-base64", "    client-key-data: " + PRIVATE_KEY_B64, PRIVATE_KEY_B64[:40],
       keep=("client-key-data",)),
    _s("putty-private-key",
       "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\n"
       + (putty := b64(44)) + "\nPrivate-MAC: " + rand(_HEX, 64), putty),
    _s("url-credentials-postgres",
       "connecting to postgresql://app:Xk9pLm2Qr7zz@db.internal:5432/orders", "Xk9pLm2Qr7zz",
       keep=("postgresql://app:", "@db.internal:5432/orders")),
    _s("url-credentials-mongodb",
       "MONGO_URL=mongodb+srv://admin:p%40ss-W0rd@cluster0.abc.mongodb.net/db", "p%40ss-W0rd",
       keep=("cluster0.abc.mongodb.net",)),
    _s("url-credentials-redis", "redis://:s3cr3t-redis@cache:6379/0", "s3cr3t-redis",
       keep=("cache:6379",)),
    _s("url-credentials-at-in-password", "amqp://guest:p@ss@rabbit:5672/", "p@ss",
       keep=("rabbit:5672",)),
    _s("env-password", "export DB_PASSWORD=hunter2-x", "hunter2-x", keep=("DB_PASSWORD",)),
    _s("env-quoted-with-spaces", "export API_TOKEN='correct horse battery'", "correct horse"),
    _s("json-password", '{"user": "ada", "password": "correct horse battery staple"}',
       "correct horse", keep=('"user": "ada"',)),
    _s("json-passphrase", '{"passphrase": "open sesame 42", "cipher": "aes-256"}', "open sesame",
       keep=("aes-256",)),
    _s("json-client-secret", '{"client_id": "web-app", "client_secret": "cs-8f7d6e5c"}',
       "cs-8f7d6e5c", keep=("web-app",)),
    _s("json-escaped-in-json",
       '{"body": "{\\"api_key\\": \\"ak-inner-9f8e7d\\", \\"user\\": \\"ada\\"}"}',
       "ak-inner-9f8e7d",
       keep=("ada",)),
    _s("yaml-fields",
       "database:\n  host: db.internal\n  password: hunter2\n  api_key: k-7f6e5d4c\n"
       "  secret: two words here\n", "hunter2", "k-7f6e5d4c", "two words",
       keep=("db.internal",)),
    _s("python-repr", "Credentials(user='ada', secret='open sesame', token='t0k-42')",
       "open sesame", "t0k-42", keep=("ada",)),
    _s("cli-flags",
       "helm install web ./chart --set image.tag=v1.2.3 --password hunter2 "
       '--client-secret "two words" --token=tk-9f8e --api-key ak-7d6c',
       "hunter2", "two words", "tk-9f8e", "ak-7d6c", keep=("image.tag=v1.2.3", "./chart")),
    _s("curl-user", "curl -u deploy:hunter2-x https://ci.acme.io/api", "hunter2-x",
       keep=("ci.acme.io",)),
    _s("flag-user", "jenkins-cli --user deploy:s3cret-9 build web", "s3cret-9",
       keep=("build web",)),
    _s("http-basic-header", f"> Authorization: Basic {BASIC}\n> Accept: */*", BASIC,
       keep=("Accept: */*",)),
    _s("http-bearer-header", "-H 'Authorization: Bearer opaque-Tok3n-value'", "opaque-Tok3n"),
    _s("http-api-key-header", "X-Api-Key: 9f8e7d6c5b4a\nContent-Type: application/json",
       "9f8e7d6c5b4a", keep=("application/json",)),
    _s("http-cookie-header", "Cookie: sessionid=abc123def456; csrftoken=zz99", "abc123def456"),
    _s("http-proxy-authorization", "Proxy-Authorization: Basic " + BASIC, BASIC),
    _s("bearer-without-header", "retrying with Bearer " + (bt := rand(_ALNUM, 32)) + " now", bt,
       keep=("now",)),
    _s("basic-without-header", f"auth scheme Basic {BASIC} rejected", BASIC, keep=("rejected",)),
    _s("query-string-tokens",
       "GET /callback?code=1&access_token=" + (qt := rand(_ALNUM, 24)) + "&state=xyz&api_key=k99z",
       qt, "k99z", keep=("state=xyz", "code=1")),
    _s("netrc",
       "machine api.heroku.com login ada@example.com password " + (nrc := rand(_ALNUM, 20)),
       nrc, keep=("api.heroku.com",)),
    _s("sql-server-connection-string",
       "Server=db01;Database=orders;User Id=sa;Password=P@ssw0rd!42;TrustServerCertificate=true",
       "P@ssw0rd!42", keep=("Database=orders",)),
    _s("jdbc-url", "jdbc:postgresql://db:5432/app?user=app&password=hunter2z&ssl=true",
       "hunter2z", keep=("ssl=true",)),
    _s("high-entropy-signing-key", "signing_key: " + (sk := rand(_ALNUM, 40)), sk),
    _s("high-entropy-hmac", '{"hmac": "' + (hm := rand(_HEX, 64)) + '"}', hm),
    _s("high-entropy-encryption-key", "ENCRYPTION_KEY=" + (ek := b64(44)), ek),
    _s("kubeconfig",
       "users:\n- name: ci\n  user:\n    token: " + (kt := rand(_ALNUM, 40)) + "\n"
       "    client-key-data: " + (kd := b64(120)) + "\n", kt, kd, keep=("name: ci",)),
    _s("kubernetes-secret-yaml",
       "apiVersion: v1\nkind: Secret\ndata:\n  DB_PASSWORD: " + (kp := b64(24)) + "\n"
       "  tls.key: " + (tk := b64(120)) + "\n", kp, tk, keep=("kind: Secret",)),
)  # fmt: skip

NEAR_MISSES: tuple[tuple[str, str], ...] = (
    ("git-log",
     "commit 3f378ea2be8220b7f72820aad7ef539b7967d9b4 (HEAD -> main, origin/main)\n"
     "Author: Ada Lovelace <ada@example.com>\nDate:   Wed Jul 22 09:50:33 2026 -0700"),
    ("kubectl-get-pods",
     "NAME                        READY   STATUS    RESTARTS   AGE   IP\n"
     "api-7d9f8b6c5-x2k4p         1/1     Running   0          5m    10.12.3.4\n"
     "task-runner-6c8f9d7b4-q7w2e 1/1     Running   2          12d   10.12.3.9"),
    ("image-digest",
     "Image: registry.acme.io/team/api@sha256:"
     "9b2c1e5f7a3d8e4b6c0a1f2e3d4c5b6a7980f1e2d3c4b5a69788f0e1d2c3b4a5"),
    ("uuid-request-ids",
     "request-id=8f14e45f-ceea-467a-9af1-0c2b7c3e4d5f trace_id=0af7651916cd43dd8448eb211c80319c"),
    ("timestamps-and-ips",
     "2026-07-22T09:50:33.123456Z 192.168.1.20 -> 10.0.0.7:8443 GET /healthz 200 1.2ms"),
    ("aws-identifiers",
     "arn:aws:iam::123456789012:role/deploy i-0abcd1234ef567890 ami-0123456789abcdef0 "
     "vpc-0a1b2c3d subnet-12345678 eu-west-1"),
    ("terraform-plan",
     "  # aws_instance.web[0] will be created\n  + resource \"aws_instance\" \"web\" {\n"
     "      + ami           = \"ami-0123456789abcdef0\"\n      + instance_type = \"t3.micro\""),
    ("helm-flags", "helm upgrade web ./chart --namespace prod --set image.tag=v1.2.3 --wait"),
    ("k8s-secret-ref",
     "env:\n- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db-credentials\n"
     "      key: password"),
    ("kubectl-create-secret-from-file",
     "kubectl create secret generic db-creds --from-file=./creds.json -n prod"),
    ("prose-about-secrets",
     "Error: token expired, please log in again. Password required. Authorization failed: "
     "invalid credentials. Basic authentication is disabled; use bearer authentication."),
    ("llm-usage",
     '{"prompt_tokens": 812, "completion_tokens": 96, "total_tokens": 908, "max_tokens": 1024}'),
    ("tokenizer-and-author", '{"tokenizer": "cl100k_base", "author": "ada", "secretName": "db"}'),
    ("ssh-public-key",
     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0mCgGz7J1yQ9vqE3Wl0Z6dYt5N0pX1b2c3d4e5f6g7 ada@laptop"),
    ("certificate",
     "-----BEGIN CERTIFICATE-----\n"
     "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n"
     "-----END CERTIFICATE-----"),
    ("kubeconfig-ca",
     "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUREekNDQWZl"
     "Z0F3SUJBZ0lSQU1vZ"),
    ("urls-without-credentials",
     "https://github.com/acme/api/pull/123 git@github.com:acme/api.git "
     "ssh://git@github.com:22/acme/api https://grafana.acme.io:3000/d/abc?orgId=1&from=now-1h"),
    ("email-addresses", "notified ada@example.com and ops-team@acme.io"),
    ("cache-key-digest", "restored cache key: sha256:9b2c1e5f7a3d8e4b6c0a1f2e3d4c5b6a7980f1e2"),
    ("versions", "python-3.11.4 node v20.11.1 chromadb 1.5.9 langgraph==1.2.22"),
    ("pip-hashes",
     "Collecting requests==2.32.3 --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038"),
    ("docker-build",
     "Step 4/12 : RUN pip install -r requirements.txt\n ---> Using cache\n ---> 6d0176ddc3bc"),
    ("words-with-key-prefixes",
     "task-runner-abcdefghijklmnopqrstuvwxyz0123 disk-abcdefghijklmnopqrstuvwxyz ask-me-anything"),
    ("json-log-line",
     '{"level":"info","ts":1721641833.123,"msg":"reconciled","controller":"deployment",'
     '"name":"web","namespace":"prod","uid":"8f14e45f-ceea-467a-9af1-0c2b7c3e4d5f"}'),
    ("placeholders",
     "DB_PASSWORD=${DB_PASSWORD} API_TOKEN=<your-token>\nsecret: ********\npassword: changeme"),
)  # fmt: skip
