"""The Stripe keys in Secrets Manager: a secret the stack makes (both keys empty until an operator fills
them in) or one taken by name, read by the API function alone, which the setting STRIPE_SECRET_ARN tells
where it is."""

from __future__ import annotations

import json

from aws_cdk.assertions import Template

from infra.stack import build_app
from infra.topology import API_FUNCTION, FUNCTIONS
from tests.integration.infra.template import SKIP_BUNDLING, Synthesized, actions_of, as_list, as_text


def test_the_stack_makes_a_stripe_secret_with_empty_keys_and_only_the_api_reads_it(
    synthesized: Synthesized,
) -> None:
    secret_id = synthesized.secret_id("StripeKeys")
    secret = synthesized.resources[secret_id]
    generated = secret["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"api_key": "", "webhook_secret": ""}
    assert secret["DeletionPolicy"] == "Retain", "the keys are put in by hand"

    by_handler = synthesized.functions_by_handler()
    given = {
        spec.name
        for spec in FUNCTIONS
        if "STRIPE_SECRET_ARN" in by_handler[spec.handler][1]["Environment"]["Variables"]
    }
    assert given == {API_FUNCTION.name}
    outputs = synthesized.template.to_json()["Outputs"]
    assert outputs["StripeSecretArn"]["Value"] == {"Ref": secret_id}


def test_a_secret_kept_already_is_taken_by_name() -> None:
    built = build_app(context={**SKIP_BUNDLING, "stripeSecretName": "payments/dumont-stripe"})
    template = Template.from_stack(built.stack).to_json()
    secrets = [
        key for key, value in template["Resources"].items() if value["Type"] == "AWS::SecretsManager::Secret"
    ]
    assert not [key for key in secrets if "StripeKeys" in key], "no secret is made"

    (api,) = (
        value["Properties"]
        for value in template["Resources"].values()
        if value["Type"] == "AWS::Lambda::Function" and value["Properties"]["Handler"] == API_FUNCTION.handler
    )
    arn = as_text(api["Environment"]["Variables"]["STRIPE_SECRET_ARN"])
    assert arn.endswith(":secret:payments/dumont-stripe")
    role_id = api["Role"]["Fn::GetAtt"][0]
    granted = [
        as_text(resource)
        for policy in template["Resources"].values()
        if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in actions_of(statement)
        for resource in as_list(statement["Resource"])
    ]
    assert any(resource.endswith(":secret:payments/dumont-stripe-??????") for resource in granted), granted


def test_billing_settings_come_from_context_values_to_every_function_that_reads_them() -> None:
    from dumont_core.platform import settings

    context = {
        "platformMargin": "0.15",
        "trialCreditUsd": "5",
        "lowBalanceThresholdUsd": "20",
        "storagePricePerGbMonth": "0.03",
        "checkoutSuccessUrl": "https://console.example.org/billing/paid",
        "checkoutCancelUrl": "https://console.example.org/billing",
    }
    expected = {
        "PLATFORM_MARGIN": "0.15",
        "TRIAL_CREDIT_USD": "5",
        "LOW_BALANCE_THRESHOLD_USD": "20",
        "STORAGE_PRICE_PER_GB_MONTH": "0.03",
        "CHECKOUT_SUCCESS_URL": "https://console.example.org/billing/paid",
        "CHECKOUT_CANCEL_URL": "https://console.example.org/billing",
    }
    built = build_app(context={**SKIP_BUNDLING, **context})
    template = Template.from_stack(built.stack)

    for spec in FUNCTIONS:
        (function,) = template.find_resources(
            "AWS::Lambda::Function", {"Properties": {"Handler": spec.handler}}
        ).values()
        variables = function["Properties"]["Environment"]["Variables"]
        read = {field.alias for field in getattr(settings, spec.settings).model_fields.values()}
        given = {name: value for name, value in variables.items() if name in expected}
        assert given == {name: value for name, value in expected.items() if name in read}, spec.name
        loaded = settings.BillingSettings.model_validate(given) if given else None
        if spec == API_FUNCTION:
            assert loaded is not None and loaded.platform_margin == 0.15
