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


def test_given_every_queue_then_it_is_encrypted_and_every_dead_letter_queue_keeps_messages_14_days(dev) -> None:
    all_queues = dev.resources("AWS::SQS::Queue")
    for logical_id, queue in all_queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, logical_id
    dead_letter_ids = {
        queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for queue in all_queues.values()
        if "RedrivePolicy" in queue["Properties"]
    }
    assert len(dead_letter_ids) == 2  # the jobs' and captures' one, the assembly's own
    for logical_id in dead_letter_ids:
        assert all_queues[logical_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600, logical_id
        assert "RedrivePolicy" not in all_queues[logical_id]["Properties"], logical_id


def test_given_the_timed_functions_then_each_runs_every_five_minutes_and_a_failed_run_waits_for_the_next(dev) -> None:
    timed = {
        rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]: rule["Properties"]
        for rule in dev.resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in rule["Properties"]
    }
    sweepers = {dev.function(h)[0] for h in ("worker.sweeper.lambda_handler", "assembler.sweep.lambda_handler")}
    assert set(timed) == sweepers
    for function_id, rule in timed.items():
        assert rule["ScheduleExpression"] == "rate(5 minutes)", function_id
        assert rule["Targets"][0]["RetryPolicy"] == {"MaximumRetryAttempts": 0}, function_id
        dev.template.has_resource_properties(
            "AWS::Lambda::Permission",
            {"FunctionName": {"Fn::GetAtt": [function_id, "Arn"]}, "Principal": "events.amazonaws.com"},
        )
