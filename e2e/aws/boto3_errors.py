"""boto3 against cleanroom-mock-aws: errors and retries as boto3 reports them.

Expects a fault rule making the first two ListTasks calls throttle. Prints
each error's code (and whether the modeled exception class caught it).
"""
import os

from aws_e2e_common import client, emit, error_of


def caught(call, exception_class):
    try:
        call()
    except exception_class:
        return True
    except Exception:  # noqa: BLE001 - the point is which class it was
        return False
    return False


def main():
    ecs = client("ecs")
    elb = client("elbv2")
    s3 = client("s3")
    wrong = {"aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "not-the-secret"}
    missing_group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ghost/0123456789abcdef"

    ecs.create_cluster(clusterName="py-throttled")
    listed = ecs.list_tasks(cluster="py-throttled")

    emit({
        "throttledRetries": listed["ResponseMetadata"]["RetryAttempts"],
        "throttledArns": listed["taskArns"],
        "wrongSecretEcs": error_of(lambda: client("ecs", **wrong).list_clusters()),
        "wrongSecretS3": error_of(lambda: client("s3", **wrong).list_buckets()),
        "wrongSecretSts": error_of(lambda: client("sts", **wrong).get_caller_identity()),
        "clusterNotFound": error_of(lambda: ecs.describe_tasks(cluster="nope", tasks=["0" * 32])),
        "clusterNotFoundClass": caught(lambda: ecs.describe_tasks(cluster="nope", tasks=["0" * 32]),
                                       ecs.exceptions.ClusterNotFoundException),
        "targetGroupNotFound": error_of(lambda: elb.describe_target_health(TargetGroupArn=missing_group)),
        "targetGroupNotFoundClass": caught(lambda: elb.describe_target_health(TargetGroupArn=missing_group),
                                           elb.exceptions.TargetGroupNotFoundException),
        "noSuchBucket": error_of(lambda: s3.list_objects_v2(Bucket="no-such-bucket-here")),
        "noSuchBucketClass": caught(lambda: s3.list_objects_v2(Bucket="no-such-bucket-here"),
                                    s3.exceptions.NoSuchBucket),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
    })


if __name__ == "__main__":
    main()
