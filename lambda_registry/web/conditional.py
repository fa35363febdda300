"""Conditional requests (SPEC.md "Conditional requests and sync"): the
``ETag`` of every answer of a GET, ``If-None-Match`` (304) and ``If-Match``
(412 on a write of one record).

Two kinds of tag, both strong:

- **A record's**: from its owner, uuid, ``created_at`` and ``updated_at``.
  Every write that changes what its details say moves ``updated_at``
  strictly forward (``storage/record_store.py``), and a record deleted and
  created again has a new ``created_at``; so the tag changes exactly when
  the details would, and a write knows the new tag without reading the
  details again (its 202 answers it).
- **Any other answer's**: a digest of its body, which the view has just
  made from what it read anyway (a page of a list, the cached counts).
"""

import functools
import hashlib

ANY = "*"
# Part of every tag: a release that changes how answers are written changes it.
TAG_VERSION = b"1"


def body_tag(body):
    """The tag of an answer's body (bytes)."""
    return '"' + hashlib.blake2b(TAG_VERSION + body, digest_size=16).hexdigest() + '"'


def record_tag(kind, owner, uuid, created_at, updated_at):
    """The tag of a record's details; the timestamps as answers write them (``iso``)."""
    key = "\0".join((kind.key, owner, uuid, created_at, updated_at)).encode("utf-8", "surrogatepass")
    return '"' + hashlib.blake2b(TAG_VERSION + key, digest_size=16).hexdigest() + '"'


def iso(moment):
    """A stored (naive UTC) timestamp as answers write it: always six digits of microseconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entity_tags(header):
    """The tags of an If-Match / If-None-Match header: ``ANY``, or a list of
    (weak, '"opaque"') pairs; entries that are not entity tags are left out
    (they match nothing)."""
    header = header.strip()
    if header == ANY:
        return ANY
    tags = []
    for entry in header.split(","):
        entry = entry.strip()
        weak = entry[:2] == "W/"
        if weak:
            entry = entry[2:]
        if len(entry) >= 2 and entry[0] == entry[-1] == '"':
            tags.append((weak, entry))
    return tags


def none_match(header, tag):
    """Does an If-None-Match header hold ``tag``? (The weak comparison, as RFC 9110 says.)"""
    tags = _entity_tags(header)
    return tags == ANY or any(opaque == tag for _weak, opaque in tags)


def if_match_allows(header, tag):
    """Does an If-Match header allow a write of the record tagged ``tag``?
    (The strong comparison: a weak tag never matches.) None: no header, any write."""
    if header is None:
        return True
    tags = _entity_tags(header)
    return tags == ANY or any(not weak and opaque == tag for weak, opaque in tags)


def not_modified(response):
    """``response`` made a 304: no body, the same ETag and other headers."""
    response.status = 304
    response.body = b""
    response.content_type = None
    response.content_length = None
    return response


def conditional_get(view):
    """Wrap a GET view: its answer gets an ETag (the view's own, or its
    body's), and a 304 when If-None-Match holds it. HEAD runs the same
    view; the server leaves out the body."""

    @functools.wraps(view)
    def answer(request):
        response = view(request)
        tag = response.headers.get("ETag")
        if tag is None:
            tag = response.headers["ETag"] = body_tag(response.body)
        condition = request.headers.get("If-None-Match")
        if condition is not None and none_match(condition, tag):
            return not_modified(response)
        return response

    return answer
