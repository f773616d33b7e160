"""Schedules: the EventBridge Scheduler group, the fire function it invokes, its role and dead-letter queue.

The API creates one Scheduler schedule per user schedule in the group; Scheduler assumes the
role, which may only invoke the fire function and send undeliverable fires to the DLQ. The
API may manage schedules in this group only, and pass this role only, to Scheduler only.

Operator schedules (a dataset's ``[schedule]`` in its ``dataset.toml``) are made here, one
Scheduler schedule each in the same group, with the same role, dead-letter queue and retry
policy as the API's, firing ``{"dataset", "fire_time"}``.
"""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from exporter.adapters.scheduler import SCHEDULED_TIME, SchedulerTarget
from exporter.datasets.catalogue import Dataset
from infra.config import EnvConfig
from infra.environment import ServiceEnvironment
from infra.functions import PythonFunctionFactory
from infra.nag import acknowledge, finding_resource
from infra.queue import JobQueue, encrypted_queue

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
# What the API does to its schedules (exporter.adapters.scheduler).
MANAGE_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
)


def operator_fire_input(dataset: str) -> str:
    """The operator schedule's target input: the dataset, and the fire time Scheduler substitutes."""
    return json.dumps({"dataset": dataset, "fire_time": SCHEDULED_TIME})


class Schedules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        factory: PythonFunctionFactory,
        jobs: JobQueue,
        environment: ServiceEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.group = scheduler.CfnScheduleGroup(self, "Group")
        self.dead_letter_queue = encrypted_queue(self, "DeadLetters", removal_policy=config.removal_policy)
        acknowledge(
            self.dead_letter_queue,
            id="AwsSolutions-SQS3",
            reason="This queue is itself the dead-letter queue of EventBridge Scheduler's fires; a DLQ of a DLQ "
            "would only move the same undeliverable fires once more.",
        )
        # Sized like the sweeper: one database read, one job row, one message per fire.
        self.function = factory.create(
            self,
            "Fire",
            handler="scheduler.handler.lambda_handler",
            sizing=config.sweeper,
            environment=environment.fire(),
            description="Requests the export of one schedule fire time, once",
        )
        jobs.queue.grant_send_messages(self.function)

        self.role = iam.Role(
            self,
            "SchedulerRole",
            description="Assumed by EventBridge Scheduler to invoke the schedule fire function",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_PRINCIPAL, conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        self.dead_letter_queue.grant_send_messages(self.role)

    def add_operator_schedules(self, datasets: list[Dataset]) -> None:
        """One Scheduler schedule per dataset with a ``[schedule]``, firing the fire function."""
        for dataset in datasets:
            schedule = dataset.schedule
            if schedule is None:
                continue
            made = scheduler.CfnSchedule(
                self,
                f"Dataset-{dataset.name}",
                description=f"Operator schedule of dataset {dataset.name} (its dataset.toml)",
                group_name=self.group.ref,
                schedule_expression=schedule.expression,
                schedule_expression_timezone=schedule.timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=self.function.function_arn,
                    role_arn=self.role.role_arn,
                    input=operator_fire_input(dataset.name),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                        arn=self.dead_letter_queue.queue_arn
                    ),
                    # The API's user schedules retry the same way (exporter.adapters.scheduler).
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_event_age_in_seconds=SchedulerTarget.max_event_age_seconds,
                        maximum_retry_attempts=SchedulerTarget.max_attempts,
                    ),
                ),
            )
            made.node.add_dependency(self.role)  # the role may invoke the function before the first fire

    @property
    def schedules_arn(self) -> str:
        """Every schedule in the service's group."""
        return Stack.of(self).format_arn(service="scheduler", resource="schedule", resource_name=f"{self.group.ref}/*")

    def api_environment(self) -> dict[str, str]:
        """``ApiSettings``' schedule keys."""
        return {
            "SCHEDULE_GROUP": self.group.ref,
            "SCHEDULE_TARGET_ARN": self.function.function_arn,
            "SCHEDULE_ROLE_ARN": self.role.role_arn,
            "SCHEDULE_DLQ_ARN": self.dead_letter_queue.queue_arn,
            "MAX_SCHEDULES_PER_USER": str(self.config.settings["MAX_SCHEDULES_PER_USER"]),
        }

    def grant_manage(self, fn: lambda_.Function) -> None:
        """``fn`` may create, change, read and delete schedules in the group, handing them the role."""
        fn.add_to_role_policy(iam.PolicyStatement(actions=list(MANAGE_ACTIONS), resources=[self.schedules_arn]))
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SCHEDULER_PRINCIPAL}},
            )
        )
        acknowledge(
            fn,
            id=f"AwsSolutions-IAM5[{finding_resource(self, self.schedules_arn)}]",
            reason="Scheduler actions on the service's own schedule group only: schedule names are the ids of "
            "schedules users create at run time, so they can only be named by the group.",
        )
