"""The Stripe keys that pay for credits, in Secrets Manager: a secret this stack creates, or one an
operator already keeps, taken by name (the context value `stripeSecretName`)."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components.nag import acknowledge

STRIPE_SECRET_ARN_ENV = "STRIPE_SECRET_ARN"
STRIPE_SECRET_FIELDS = ("api_key", "webhook_secret")


class PaymentCredentials(Construct):
    """`{"api_key": "sk_…", "webhook_secret": "whsec_…"}`. A created secret holds both empty, and the API
    takes no payments (only operators' grants) until an operator puts the real values in with
    `aws secretsmanager put-secret-value --secret-id <StripeSecretArn> --secret-string '{…}'`."""

    def __init__(self, scope: Construct, construct_id: str, *, secret_name: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self.secret: secretsmanager.ISecret
        if secret_name:
            self.secret = secretsmanager.Secret.from_secret_name_v2(self, "StripeKeys", secret_name)
            return
        created = secretsmanager.Secret(
            self,
            "StripeKeys",
            description="Stripe API key and webhook signing secret of Dumont Cloud's credits; fill both in",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(dict.fromkeys(STRIPE_SECRET_FIELDS, "")),
                generate_string_key="placeholder",
            ),
            # The real keys are put in by hand: keep them if the stack is deleted or the secret replaced.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            created,
            "AwsSolutions-SMG4",
            "Stripe's keys cannot be rotated by Secrets Manager: a restricted key and a webhook endpoint's "
            "signing secret are rolled in the Stripe dashboard, and an operator puts the new values in.",
        )
        self.secret = created
