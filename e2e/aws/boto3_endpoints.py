"""boto3 against cleanroom-mock-aws through service-specific endpoint variables.

The C++ test points AWS_ENDPOINT_URL at a dead port and AWS_ENDPOINT_URL_ECS /
_S3 / _ELASTIC_LOAD_BALANCING_V2 / _STS at the mock; every call must reach it.
"""
from aws_e2e_common import client, emit


def main():
    ecs, s3, elb, sts = client("ecs"), client("s3"), client("elbv2"), client("sts")
    emit({
        "endpoints": {"ecs": ecs.meta.endpoint_url, "s3": s3.meta.endpoint_url,
                      "elbv2": elb.meta.endpoint_url, "sts": sts.meta.endpoint_url},
        "cluster": ecs.create_cluster(clusterName="py-routed")["cluster"]["clusterName"],
        "bucketStatus": s3.create_bucket(Bucket="py-routed-bucket")["ResponseMetadata"]["HTTPStatusCode"],
        "targetGroups": elb.describe_target_groups()["TargetGroups"],
        "account": sts.get_caller_identity()["Account"],
    })


if __name__ == "__main__":
    main()
