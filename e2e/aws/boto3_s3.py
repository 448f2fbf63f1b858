"""boto3 against cleanroom-mock-aws: S3 uploads, checksums and listings.

Usage: boto3_s3.py BIG_FILE DOWNLOAD_PATH
upload_file (multipart above 8 MiB) -> download_file -> put_object with the
default CRC32 and with SHA256 -> get_object with checksum validation ->
list_objects_v2 paginator over odd keys -> head/delete. Prints JSON.
"""
import base64
import hashlib
import sys

from aws_e2e_common import client, emit, error_of

BUCKET = "py-session-logs"
ODD_KEYS = ["a b/c d.txt", "ü/ñ é.log", "plus+sign", "percent%20literal", "amp&eq=?q#frag", "tilde~/x",
            "dir/sub/leaf", "semi;colon,comma", "trailing space "]


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    big, download = sys.argv[1], sys.argv[2]
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)

    s3.upload_file(big, BUCKET, "run/big.bin")
    s3.download_file(BUCKET, "run/big.bin", download)
    big_head = s3.head_object(Bucket=BUCKET, Key="run/big.bin")

    crc = s3.put_object(Bucket=BUCKET, Key="run/crc.txt", Body=b"hello world")
    sha_body = b"session log with a sha256\n"
    sha = s3.put_object(Bucket=BUCKET, Key="run/sha.txt", Body=sha_body, ChecksumAlgorithm="SHA256")
    got = s3.get_object(Bucket=BUCKET, Key="run/crc.txt", ChecksumMode="ENABLED")
    got_body = got["Body"].read()
    got_sha = s3.get_object(Bucket=BUCKET, Key="run/sha.txt", ChecksumMode="ENABLED")
    got_sha_body = got_sha["Body"].read()

    for key in ODD_KEYS:
        s3.put_object(Bucket=BUCKET, Key="odd/" + key, Body=key.encode())
    pages = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="odd/", PaginationConfig={"PageSize": 2}))
    listed = [o["Key"][len("odd/"):] for page in pages for o in page.get("Contents", [])]
    odd_bodies_ok = all(s3.get_object(Bucket=BUCKET, Key="odd/" + key)["Body"].read() == key.encode()
                        for key in ODD_KEYS)

    s3.delete_object(Bucket=BUCKET, Key="run/crc.txt")
    deleted = error_of(lambda: s3.get_object(Bucket=BUCKET, Key="run/crc.txt"))

    emit({
        "sameBytes": sha256_of(big) == sha256_of(download),
        "bigLength": big_head["ContentLength"],
        "bigETag": big_head["ETag"],
        "putCrc32": crc.get("ChecksumCRC32"),
        "putETag": crc.get("ETag"),
        "expectedMd5": '"' + hashlib.md5(b"hello world").hexdigest() + '"',
        "putSha256": sha.get("ChecksumSHA256"),
        "expectedSha256": base64.b64encode(hashlib.sha256(sha_body).digest()).decode(),
        "getBodyOk": got_body == b"hello world",
        "getShaBodyOk": got_sha_body == sha_body,
        "getCrc32": got.get("ChecksumCRC32"),
        "listed": sorted(listed),
        "expectedKeys": sorted(ODD_KEYS),
        "pageCount": len(pages),
        "oddBodiesOk": odd_bodies_ok,
        "afterDelete": deleted,
    })


if __name__ == "__main__":
    main()
