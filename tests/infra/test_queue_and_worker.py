from aws_cdk.assertions import Match


def queues(synth) -> tuple[dict, dict, str]:
    all_queues = synth.resources("AWS::SQS::Queue")
    jobs = next(v for k, v in all_queues.items() if k.startswith("QueueJobs"))
    dlq_id = jobs["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return jobs, all_queues[dlq_id], dlq_id


def test_given_the_job_queue_then_it_redrives_to_an_encrypted_dlq(dev) -> None:
    jobs, dlq, _ = queues(dev)
    assert jobs["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    assert jobs["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_given_every_queue_then_non_tls_requests_are_denied(dev) -> None:
    protected = set()
    for policy in dev.resources("AWS::SQS::QueuePolicy").values():
        statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        protected |= {queue["Ref"] for queue in policy["Properties"]["Queues"]}
    assert protected == set(dev.resources("AWS::SQS::Queue"))  # jobs, captures, dead letters


def test_given_the_worker_timeout_then_visibility_is_at_least_six_times_it(dev, prod) -> None:
    for synth in (dev, prod):
        jobs, _, _ = queues(synth)
        _, worker = synth.function("worker.handler.lambda_handler")
        assert jobs["Properties"]["VisibilityTimeout"] >= 6 * worker["Properties"]["Timeout"]


def test_given_the_worker_then_it_reports_batch_item_failures_with_bounded_batch_and_concurrency(
    dev,
) -> None:
    worker_id, _ = dev.function("worker.handler.lambda_handler")
    dev.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": worker_id},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 1,
            "ScalingConfig": {"MaximumConcurrency": 2},
        },
    )


def test_given_the_sweeper_then_it_runs_every_five_minutes(dev) -> None:
    sweeper_id, sweeper = dev.function("worker.sweeper.lambda_handler")
    dev.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(5 minutes)",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [sweeper_id, "Arn"]}})],
        },
    )
    _, _, dlq_id = queues(dev)
    assert sweeper["Properties"]["Environment"]["Variables"]["DLQ_URL"] == {"Ref": dlq_id}
