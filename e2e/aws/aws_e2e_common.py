"""Shared bits of the boto3 scripts run by the cleanroom-mock-aws e2e suite.

Clients take everything (endpoint, region, credentials) from the environment
the C++ test sets up; scripts print one JSON document on stdout.
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError


def client(service, **overrides):
    """A boto3 client configured only by the environment (plus overrides)."""
    return boto3.client(service, **overrides)


def error_of(call):
    """Runs call(); returns {"code", "message", "status"} of the ClientError it raises, or None."""
    try:
        call()
    except ClientError as error:
        return {
            "code": error.response.get("Error", {}).get("Code"),
            "message": error.response.get("Error", {}).get("Message"),
            "status": error.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
            "text": str(error),
        }
    return None


def emit(result):
    json.dump(result, sys.stdout, default=str, sort_keys=True)
    sys.stdout.write("\n")
