"""boto3 against cleanroom-mock-aws: the session flow on ECS and ELBv2.

run_task (startedBy, tags) x25 -> list_tasks paginator -> waiter tasks_running
-> describe_tasks(include TAGS) -> ENI IP -> target group register/health
walk -> deregister (draining -> gone) -> stop_task -> waiter tasks_stopped.
Prints what it saw as JSON.
"""
import time

from aws_e2e_common import client, emit

CLUSTER = "py-sessions"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "DISABLED"}}
FAST = {"Delay": 0.1, "MaxAttempts": 600}


def eni_ip(task):
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return detail["value"]
    return None


def health_walk(elb, group_arn, until, limit=60.0):
    """Polls describe_target_health; returns the distinct states in order until `until`."""
    states = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = elb.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
        state = found[0]["TargetHealth"]["State"] if found else "gone"
        if not states or states[-1] != state:
            states.append(state)
        if state == until:
            break
        time.sleep(0.02)
    return states


def main():
    ecs = client("ecs")
    elb = client("elbv2")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="py-agent",
        containerDefinitions=[{"name": "agent", "image": "agent:1", "essential": True}],
        networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512")

    ran = []
    for count in (10, 10, 5):
        response = ecs.run_task(cluster=CLUSTER, taskDefinition="py-agent", count=count, launchType="FARGATE",
                                startedBy="cr-py", tags=[{"key": "cleanroom.run", "value": "py"}],
                                networkConfiguration=NETWORK)
        ran += [task["taskArn"] for task in response["tasks"]]
    pages = list(ecs.get_paginator("list_tasks").paginate(
        cluster=CLUSTER, startedBy="cr-py", PaginationConfig={"PageSize": 10}))
    listed = [arn for page in pages for arn in page["taskArns"]]

    target = ran[0]
    ecs.get_waiter("tasks_running").wait(cluster=CLUSTER, tasks=[target], WaiterConfig=FAST)
    task = ecs.describe_tasks(cluster=CLUSTER, tasks=[target], include=["TAGS"])["tasks"][0]
    ip = eni_ip(task)

    group = elb.create_target_group(Name="py-tg", Protocol="HTTP", Port=8080, VpcId="vpc-1",
                                    TargetType="ip")["TargetGroups"][0]
    groups = elb.describe_target_groups(Names=["py-tg"])["TargetGroups"]
    elb.register_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": ip, "Port": 8080}])
    registered_walk = health_walk(elb, group["TargetGroupArn"], "healthy")
    health = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    elb.deregister_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": ip, "Port": 8080}])
    deregistered_walk = health_walk(elb, group["TargetGroupArn"], "gone")

    stopped = ecs.stop_task(cluster=CLUSTER, task=target, reason="py session over")["task"]
    ecs.get_waiter("tasks_stopped").wait(cluster=CLUSTER, tasks=[target], WaiterConfig=FAST)
    final = ecs.describe_tasks(cluster=CLUSTER, tasks=[target])["tasks"][0]

    ecs.tag_resource(resourceArn=target, tags=[{"key": "owner", "value": "py"}])
    tags = ecs.list_tags_for_resource(resourceArn=target)["tags"]

    emit({
        "ran": sorted(ran),
        "listed": sorted(listed),
        "pageSizes": [len(page["taskArns"]) for page in pages],
        "task": {"lastStatus": task["lastStatus"], "startedBy": task.get("startedBy"), "tags": task.get("tags"),
                 "ip": ip, "containerIp": task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]},
        "groupArn": group["TargetGroupArn"],
        "describedGroupArns": [g["TargetGroupArn"] for g in groups],
        "healthTarget": health[0]["Target"],
        "registeredWalk": registered_walk,
        "deregisteredWalk": deregistered_walk,
        "stopResponse": {"desiredStatus": stopped["desiredStatus"], "stoppedReason": stopped.get("stoppedReason"),
                         "stopCode": stopped.get("stopCode")},
        "final": {"lastStatus": final["lastStatus"], "hasStoppedAt": "stoppedAt" in final},
        "tags": sorted((t["key"], t["value"]) for t in tags),
    })


if __name__ == "__main__":
    main()
