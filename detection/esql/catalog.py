"""Names Elasticsearch knows that this engine does not implement, for clear refusals."""

from __future__ import annotations

# Commands of ES|QL beyond the supported subset (key: lower-case first word).
UNSUPPORTED_COMMANDS: dict[str, str] = {
    "dissect": "DISSECT",
    "grok": "GROK",
    "enrich": "ENRICH",
    "lookup": "LOOKUP JOIN",
    "inlinestats": "INLINESTATS",
    "inline": "INLINE STATS",
    "fork": "FORK",
    "fuse": "FUSE",
    "rrf": "RRF",
    "change_point": "CHANGE_POINT",
    "completion": "COMPLETION",
    "rerank": "RERANK",
    "sample": "SAMPLE",
    "explain": "EXPLAIN",
    "uri_parts": "URI_PARTS",
    "registered_domain": "REGISTERED_DOMAIN",
    "user_agent": "USER_AGENT",
    "ip_location": "IP_LOCATION",
    "mmr": "MMR",
    "dedup": "DEDUP",
    "set": "SET",
}

UNSUPPORTED_SOURCES: dict[str, str] = {
    "show": "SHOW",
    "ts": "TS",
    "metrics": "METRICS",
    "promql": "PROMQL",
}

# ES|QL functions that exist but are not evaluated here.
UNSUPPORTED_FUNCTIONS = frozenset(
    """
    acos asin atan atan2 cbrt cos cosh e exp hypot log pi scalb signum sin sinh tan tanh copy_sign
    round_to clamp clamp_min clamp_max greatest least
    bit_length byte_length contains repeat to_base64 from_base64 md5 sha1 sha256 hash
    url_encode chunk
    date_format date_parse day_name month_name range_contains trange
    to_cartesianpoint to_cartesianshape to_geopoint to_geoshape to_unsigned_long to_ul to_version to_ver
    to_degrees to_radians to_date_nanos to_datenanos to_dateperiod to_timeduration to_aggregate_metric_double
    ip_prefix json_extract
    mv_median mv_median_absolute_deviation mv_percentile mv_pseries_weighted_sum mv_zip
    match match_phrase multi_match knn score decay
    st_contains st_disjoint st_distance st_envelope st_intersects st_within st_x st_xmax st_xmin st_y
    st_ymax st_ymin st_centroid_agg st_extent_agg st_geohash st_geotile st_geohex
    median median_absolute_deviation percentile std_dev variance top weighted_avg sample
    first last earliest latest categorize tbucket rate irate delta idelta increase
    avg_over_time count_over_time count_distinct_over_time first_over_time last_over_time
    max_over_time min_over_time sum_over_time present absent present_over_time absent_over_time
    v_cosine v_dot_product v_hamming v_l1_norm v_l2_norm v_magnitude text_embedding embedding
    """.split()
)
