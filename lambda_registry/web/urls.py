"""Our URLs: how a route pattern is written, and which paths are ours.

Every URL answers with and without a trailing slash, directly: service VMs
POST and would not follow a redirect. Under a host's ``route_prefix`` our
error views answer only the paths of our own services, derived from them.
"""

import re

# The end of every route pattern of ours.
SLASH = "{slash:/?}"


def route_pattern(path):
    return path + SLASH


def path_of(pattern):
    """The path a route pattern describes, without the optional slash."""
    return pattern.replace(SLASH, "")


def prefix_of(config):
    """The host's route prefix as a path ("" or "/portal/registry")."""
    prefix = (config.route_prefix or "").strip("/")
    return "/" + prefix if prefix else ""


def ours_pattern(prefix, paths):
    """A regex of the raw PATH_INFOs under our services' first segments
    (and of the root itself, when "/" is one of ``paths``)."""
    segments = sorted({path.strip("/").split("/", 1)[0] for path in paths})
    alternatives = [re.escape(segment) + "(/|$)" for segment in segments if segment]
    if "" in segments:
        alternatives.append("$")
    return "^" + re.escape(prefix) + "/(" + "|".join(alternatives) + ")"
