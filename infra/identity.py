"""Who calls the API: a Cognito user pool created here (with a Hosted UI domain and the web UI's
PKCE client), or an existing OIDC issuer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aws_cdk import Aws, Duration, Fn
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from exporter.settings import ADMIN_GROUP
from infra.config import EnvConfig, FunctionConfig
from infra.functions import PythonFunctionFactory
from infra.nag import acknowledge

# Cognito waits at most 5 s for a trigger; the function only reads the event and answers.
TOKEN_TRIGGER_SIZING = FunctionConfig(memory_mb=256, timeout_seconds=5)


class Identity(Construct):
    """Exposes ``authorizer`` (a JWT authorizer); ``user_pool``/``client``/``domain`` only in Cognito mode.

    ``add_web_client`` (before ``authorizer`` is first read) adds the UI's public client, so the
    authorizer accepts its tokens too. ``add_email_claim`` gives the pool its pre-token-generation
    trigger, which puts the verified address in access tokens.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.user_pool: cognito.UserPool | None = None
        self.client: cognito.UserPoolClient | None = None
        self.web_client: cognito.UserPoolClient | None = None
        self.domain: cognito.UserPoolDomain | None = None
        self.token_trigger: lambda_.Function | None = None
        self._authorizer: apigwv2.IHttpRouteAuthorizer | None = None
        auth = config.auth
        if not auth.uses_cognito:
            assert auth.issuer is not None
            self._authorizer = authorizers.HttpJwtAuthorizer(
                "JwtAuthorizer", auth.issuer, jwt_audience=list(auth.audience)
            )
            return
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            # Essentials: the plan that lets the pre-token-generation trigger (event version 2) change access tokens.
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.REQUIRED if auth.mfa_required else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            deletion_protection=not config.destroys_data,
            removal_policy=config.removal_policy,
        )
        cognito.UserPoolGroup(
            self,
            "AdminGroup",
            user_pool=self.user_pool,
            group_name=ADMIN_GROUP,
            description="Sees, deletes and shares every export (cognito:groups claim).",
        )
        self.client = self.user_pool.add_client(
            "ApiClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        self.domain = self.user_pool.add_domain(
            "HostedUi",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=auth.domain_prefix or Fn.join("-", ["export-service", config.name, Aws.ACCOUNT_ID])
            ),
        )
        acknowledge(
            self.user_pool,
            id="AwsSolutions-COG8",
            reason="Essentials plan by choice: no self sign-up, admin-created users only, MFA per environment; "
            "Plus (threat protection, compromised-credential checks) is a per-MAU cost to revisit if sign-up opens.",
        )
        if not auth.mfa_required:
            acknowledge(
                self.user_pool,
                id="AwsSolutions-COG2",
                reason=f"{config.name}: MFA is optional (TOTP offered) by configuration (auth.mfaRequired) so "
                "the curl smoke test can get a token with USER_PASSWORD_AUTH; prod requires MFA.",
            )

    @property
    def authorizer(self) -> apigwv2.IHttpRouteAuthorizer:
        if self._authorizer is None:
            assert self.user_pool is not None and self.client is not None
            clients = [c for c in (self.client, self.web_client) if c is not None]
            self._authorizer = authorizers.HttpUserPoolAuthorizer(
                "UserPoolAuthorizer", self.user_pool, user_pool_clients=clients
            )
        return self._authorizer

    @property
    def sign_in_origins(self) -> list[str]:
        """Where the UI's fetch() goes to sign in (the Hosted UI domain, or the OIDC issuer)."""
        if self.domain is not None:
            return [self.domain.base_url()]
        issuer = urlsplit(self.config.auth.issuer or "")
        return [f"{issuer.scheme}://{issuer.netloc}"] if issuer.netloc else []

    def add_web_client(self, redirect_uri: str) -> None:
        """The UI's public client: authorization code with PKCE, back to ``redirect_uri``, no secret."""
        if self.user_pool is None:
            return
        assert self._authorizer is None, "add the web client before the authorizer is built"
        self.web_client = self.user_pool.add_client(
            "WebClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[redirect_uri],
                logout_urls=[redirect_uri],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
        )

    def add_email_claim(self, factory: PythonFunctionFactory) -> None:
        """The pool's pre-token-generation trigger (event version 2): ``email`` in access tokens, when verified.

        The API reads the address for notifications from the access token the UI sends; the
        function reaches nothing, so it runs outside the VPC (docs/decisions.md).
        """
        if self.user_pool is None:
            return
        self.token_trigger = factory.create(
            self,
            "TokenTrigger",
            handler="token_trigger.handler.lambda_handler",
            sizing=TOKEN_TRIGGER_SIZING,
            environment={},
            description="Cognito pre-token-generation: the verified e-mail address as the access token's email claim",
            in_vpc=False,
        )
        self.user_pool.add_trigger(
            cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, self.token_trigger, cognito.LambdaVersion.V2_0
        )

    def web_auth(self, redirect_uri: str) -> dict[str, Any]:
        """The ``auth`` block of the UI's config.json."""
        if self.domain is not None and self.web_client is not None:
            domain = self.domain.base_url()
            return {
                "mode": "oauth",
                "authorizeUrl": f"{domain}/oauth2/authorize",
                "tokenUrl": f"{domain}/oauth2/token",
                "logoutUrl": f"{domain}/logout",
                "clientId": self.web_client.user_pool_client_id,
                "redirectUri": redirect_uri,
                "scopes": ["openid", "email", "profile"],
            }
        auth = self.config.auth
        return {
            "mode": "oidc",
            "issuer": auth.issuer,
            "clientId": auth.audience[0] if auth.audience else "",
            "redirectUri": redirect_uri,
            "scopes": ["openid"],
        }
