"""The S3 object store (SeaweedFS, MinIO or AWS): the one module that talks boto3."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mlworkbench.config import Settings
from mlworkbench.errors import ObjectStoreError

_REGION = "us-east-1"  # S3 servers other than AWS accept any; boto3 needs one


@contextlib.contextmanager
def _translated(action: str, endpoint: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ObjectStoreError(
            f"S3 at {endpoint} refused to {action}: {error.get('Code')} {error.get('Message', '')}"
            "; check MLWB_S3_ACCESS_KEY_ID/MLWB_S3_SECRET_ACCESS_KEY and MLWB_S3_BUCKET"
        ) from exc
    except BotoCoreError as exc:
        raise ObjectStoreError(
            f"cannot {action} at S3 {endpoint} ({exc}); start it (`mlwb up`) "
            "or fix MLWB_S3_ENDPOINT_URL"
        ) from exc


class ObjectStore:
    """A bucket on an S3 endpoint, with the settings' credentials."""

    def __init__(self, settings: Settings, timeout_s: float = 5.0) -> None:
        self.endpoint = settings.resolved_s3_endpoint_url
        self.bucket = settings.s3_bucket
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            region_name=_REGION,
            config=Config(
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                retries={"max_attempts": 1},
                s3={"addressing_style": "path"},
            ),
        )

    def bucket_exists(self) -> bool:
        """True when the bucket answers; False when it is missing; error when S3 does not answer."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                return False
            raise ObjectStoreError(
                f"S3 at {self.endpoint} refused bucket {self.bucket!r}: {exc}"
            ) from exc
        except BotoCoreError as exc:
            raise ObjectStoreError(f"S3 at {self.endpoint} does not answer ({exc})") from exc
        return True

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (SeaweedFS makes it itself; MinIO does not)."""
        if not self.bucket_exists():
            with _translated(f"create bucket {self.bucket!r}", self.endpoint):
                self._client.create_bucket(Bucket=self.bucket)

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` in the bucket."""
        found: list[str] = []
        with _translated(f"list bucket {self.bucket!r}", self.endpoint):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                found += [entry["Key"] for entry in page.get("Contents", [])]
        return found


def main(attempts: int = 30) -> None:
    """``python -m mlworkbench.platform.objectstore``: make the bucket (compose's s3-init)."""
    import sys
    import time

    from mlworkbench.config import get_settings

    store = ObjectStore(get_settings())
    for attempt in range(attempts):
        try:
            store.ensure_bucket()
        except ObjectStoreError as exc:
            if attempt == attempts - 1:
                sys.exit(f"Error: {exc}")
            time.sleep(1)
        else:
            print(f"bucket {store.bucket!r} ready at {store.endpoint}")
            return


if __name__ == "__main__":
    main()
