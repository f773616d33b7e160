"""Who calls the API: a Cognito user pool created here, or an existing OIDC issuer."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.config import EnvConfig
from infra.nag import acknowledge

ADMIN_GROUP = "admin"


class Identity(Construct):
    """Exposes ``authorizer`` (a JWT authorizer); ``user_pool``/``client`` only in Cognito mode."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool: cognito.UserPool | None = None
        self.client: cognito.UserPoolClient | None = None
        auth = config.auth
        if not auth.uses_cognito:
            assert auth.issuer is not None
            self.authorizer: apigwv2.IHttpRouteAuthorizer = authorizers.HttpJwtAuthorizer(
                "JwtAuthorizer", auth.issuer, jwt_audience=list(auth.audience)
            )
            return
        self.user_pool = cognito.UserPool(
            self,
            "Users",
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
        self.authorizer = authorizers.HttpUserPoolAuthorizer(
            "UserPoolAuthorizer", self.user_pool, user_pool_clients=[self.client]
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
