"""NASA Earthdata DAACs as plain data: credentials endpoint per bucket, https <-> s3 prefixes.

Two tables, both hand-checked against public sources, both extendable per recipe
(``obstac.recipes.earthdata(bucket_credentials=..., https_to_s3=...)``):

``S3_CREDENTIALS_ENDPOINTS``
    S3 bucket -> the DAAC's ``/s3credentials`` endpoint that hands out temporary credentials
    for it (valid one hour, in AWS us-west-2 only). Source: the ``S3CredentialsAPIEndpoint``
    beside ``S3BucketAndObjectPrefixNames`` in the ``DirectDistributionInformation`` of CMR
    collections, as swept into earthaccess-dev/earthaccess-auth ``daac.py``
    (``BUCKET_ENDPOINTS``, 2026-08-18, documented in its ``docs/explanation/cmr-s3-buckets.md``);
    the DAAC endpoints agree with nsidc/earthaccess ``earthaccess/daac.py`` and with the
    Cumulus distribution API docs (``nasa/cumulus-distribution-api``, ``s3credentials.md``).
    UAT/SIT buckets are left out.

``HTTPS_TO_S3``
    (https URL prefix, s3:// URL prefix) pairs of the same objects, so an https href from CMR
    can be read straight from S3 in region, and an ``s3://`` href over https elsewhere. A row
    is here only when public sources show both forms for that DAAC: the CMR-STAC LP DAAC item
    in the shared fixtures (``lpdaac.earthdata.nasa.gov/lp-prod-protected/...``); CMR granule
    ``RelatedUrls`` pairing ``GET DATA`` with ``GET DATA VIA DIRECT ACCESS`` (LAADS ``prod-lads``,
    OB.DAAC ``ob-cumulus-prod-public``); published s3 -> https mappings (GES DISC ``/data/`` <->
    ``gesdisc-cumulus-prod-protected``, ORNL ``/protected/`` <-> ``ornl-cumulus-prod-protected``,
    SWOT); and, where TEA serves a bucket under its own name (PO.DAAC, NSIDC, GHRC, ASDC), the
    https form from ``earthaccess/daac.py`` ``DAAC_TEST_URLS`` or granule links next to the
    bucket in ``S3_CREDENTIALS_ENDPOINTS``. The first pair naming a bucket is its canonical
    https form (used for ``s3://`` hrefs out of region).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["EARTHDATA_DOMAINS", "HTTPS_TO_S3", "S3_CREDENTIALS_ENDPOINTS"]

_LPDAAC = "https://data.lpdaac.earthdatacloud.nasa.gov/s3credentials"
_PODAAC = "https://archive.podaac.earthdata.nasa.gov/s3credentials"
_SWOT = "https://archive.swot.podaac.earthdata.nasa.gov/s3credentials"
_NSIDC = "https://data.nsidc.earthdatacloud.nasa.gov/s3credentials"
_GESDISC = "https://data.gesdisc.earthdata.nasa.gov/s3credentials"
_ORNL = "https://data.ornldaac.earthdata.nasa.gov/s3credentials"
_GHRC = "https://data.ghrc.earthdata.nasa.gov/s3credentials"
_LAADS = "https://data.laadsdaac.earthdatacloud.nasa.gov/s3credentials"
_ASDC = "https://data.asdc.earthdata.nasa.gov/s3credentials"
_OBDAAC = "https://obdaac-tea.earthdatacloud.nasa.gov/s3credentials"
_ASF_S1 = "https://sentinel1.asf.alaska.edu/s3credentials"
_ASF = "https://cumulus.asf.earthdatacloud.nasa.gov/s3credentials"
_ASF_OPERA = "https://cumulus.asf.alaska.edu/s3credentials"
_NISAR = "https://nisar.asf.earthdatacloud.nasa.gov/s3credentials"
_CSDA = "https://data.csdap.earthdata.nasa.gov/s3credentials"

S3_CREDENTIALS_ENDPOINTS: Mapping[str, str] = MappingProxyType(
    {
        # LP DAAC (LPCLOUD)
        "lp-prod-protected": _LPDAAC,
        "lp-prod-public": _LPDAAC,
        "lp-protected": _LPDAAC,
        "lp-public": _LPDAAC,
        # PO.DAAC (POCLOUD); SWOT has its own TEA
        "podaac-ops-cumulus-protected": _PODAAC,
        "podaac-ops-cumulus-public": _PODAAC,
        "podaac-ops-cumulus-docs": _PODAAC,
        "podaac-swot-ops-cumulus-protected": _SWOT,
        "podaac-swot-ops-cumulus-public": _SWOT,
        # NSIDC (NSIDC_CPRD)
        "nsidc-cumulus-prod-protected": _NSIDC,
        "nsidc-cumulus-prod-public": _NSIDC,
        # GES DISC
        "gesdisc-cumulus-prod-protected": _GESDISC,
        # ORNL DAAC (ORNL_CLOUD)
        "ornl-cumulus-prod-protected": _ORNL,
        "ornl-cumulus-prod-public": _ORNL,
        # GHRC DAAC
        "ghrcw-protected": _GHRC,
        # LAADS DAAC
        "prod-lads": _LAADS,
        # ASDC (LARC_CLOUD)
        "asdc-prod-protected": _ASDC,
        "asdc2-prod-protected": _ASDC,
        # OB.DAAC (OB_CLOUD)
        "ob-cumulus-prod-public": _OBDAAC,
        # ASF: Sentinel-1, per-mission Cumulus buckets, OPERA, NISAR
        "asf-ngap2w-p-s1-grd-7d1b4348": _ASF_S1,
        "asf-ngap2w-p-s1-ocn-1e29d408": _ASF_S1,
        "asf-ngap2w-p-s1-raw-98779950": _ASF_S1,
        "asf-ngap2w-p-s1-slc-7b420b89": _ASF_S1,
        "asf-ngap2w-p-s1-xml-8cf7476b": _ASF_S1,
        "asf-cumulus-prod-alos2-products": _ASF,
        "asf-cumulus-prod-aria-browse": _ASF,
        "asf-cumulus-prod-aria-products": _ASF,
        "asf-cumulus-prod-ecmwf": _ASF,
        "asf-cumulus-prod-seasat-products": _ASF,
        "asf-cumulus-prod-opera-browse": _ASF_OPERA,
        "asf-cumulus-prod-opera-products": _ASF_OPERA,
        "sds-n-cumulus-prod-nisar-products": _NISAR,
        "sds-n-cumulus-prod-nisar-ur-products": _NISAR,
        # CSDA (commercial smallsat data; not an EOSDIS DAAC, same mechanism)
        "csda-cumulus-prod-protected-5047": _CSDA,
    }
)

HTTPS_TO_S3: tuple[tuple[str, str], ...] = (
    ("https://data.lpdaac.earthdatacloud.nasa.gov/lp-prod-protected/", "s3://lp-prod-protected/"),
    ("https://data.lpdaac.earthdatacloud.nasa.gov/lp-prod-public/", "s3://lp-prod-public/"),
    ("https://lpdaac.earthdata.nasa.gov/lp-prod-protected/", "s3://lp-prod-protected/"),
    ("https://lpdaac.earthdata.nasa.gov/lp-prod-public/", "s3://lp-prod-public/"),
    (
        "https://archive.podaac.earthdata.nasa.gov/podaac-ops-cumulus-protected/",
        "s3://podaac-ops-cumulus-protected/",
    ),
    (
        "https://archive.swot.podaac.earthdata.nasa.gov/podaac-swot-ops-cumulus-protected/",
        "s3://podaac-swot-ops-cumulus-protected/",
    ),
    (
        "https://data.nsidc.earthdatacloud.nasa.gov/nsidc-cumulus-prod-protected/",
        "s3://nsidc-cumulus-prod-protected/",
    ),
    ("https://data.gesdisc.earthdata.nasa.gov/data/", "s3://gesdisc-cumulus-prod-protected/"),
    ("https://data.ornldaac.earthdata.nasa.gov/protected/", "s3://ornl-cumulus-prod-protected/"),
    ("https://data.ghrc.earthdata.nasa.gov/ghrcw-protected/", "s3://ghrcw-protected/"),
    ("https://data.laadsdaac.earthdatacloud.nasa.gov/prod-lads/", "s3://prod-lads/"),
    ("https://data.asdc.earthdata.nasa.gov/asdc-prod-protected/", "s3://asdc-prod-protected/"),
    (
        "https://obdaac-tea.earthdatacloud.nasa.gov/ob-cumulus-prod-public/",
        "s3://ob-cumulus-prod-public/",
    ),
)

EARTHDATA_DOMAINS: tuple[str, ...] = ("earthdata.nasa.gov", "earthdatacloud.nasa.gov")
"""Hosts in these domains (and their subdomains) are NASA Earthdata's: CMR, EDL, the DAACs'
TEA hosts (``data.*.earthdatacloud.nasa.gov``, ``archive.podaac.earthdata.nasa.gov``...)."""
