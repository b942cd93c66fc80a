"""USPS vocabularies (Publication 28, appendix C): states, directionals, street types, unit types.

Keys are upper case without dots; values are the display forms we store.
"""

from __future__ import annotations

STATES: dict[str, str] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL", "GEORGIA": "GA", "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL",
    "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA",
    "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN",
    "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY",
    "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR",
    "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA",
    "WASHINGTON": "WA", "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY",
    "PUERTO RICO": "PR", "GUAM": "GU", "VIRGIN ISLANDS": "VI", "AMERICAN SAMOA": "AS",
    "NORTHERN MARIANA ISLANDS": "MP",
}  # fmt: skip
STATE_CODES = frozenset(STATES.values())

DIRECTIONALS: dict[str, str] = {
    "N": "N", "S": "S", "E": "E", "W": "W",
    "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}  # fmt: skip

# Street suffixes: each standard abbreviation maps to itself, each common spelling to it.
_SUFFIX_GROUPS: dict[str, tuple[str, ...]] = {
    "Aly": ("ALLEY", "ALLEE", "ALLY"), "Anx": ("ANNEX", "ANEX", "ANNX"),
    "Arc": ("ARCADE",), "Ave": ("AVENUE", "AV", "AVEN", "AVENU", "AVN", "AVNUE"),
    "Byu": ("BAYOU", "BAYOO"), "Bch": ("BEACH",), "Bnd": ("BEND",), "Blf": ("BLUFF", "BLUF"),
    "Blvd": ("BOULEVARD", "BOUL", "BOULV"), "Br": ("BRANCH", "BRNCH"),
    "Brg": ("BRIDGE", "BRDGE"), "Brk": ("BROOK",), "Byp": ("BYPASS", "BYPA", "BYPAS", "BYPS"),
    "Cp": ("CAMP", "CMP"), "Cyn": ("CANYON", "CANYN", "CNYN"), "Cpe": ("CAPE",),
    "Cswy": ("CAUSEWAY", "CAUSWA"), "Ctr": ("CENTER", "CEN", "CENT", "CENTR", "CENTRE", "CNTER",
    "CNTR"), "Cir": ("CIRCLE", "CIRC", "CIRCL", "CRCL", "CRCLE"), "Clf": ("CLIFF",),
    "Clb": ("CLUB",), "Cmn": ("COMMON",), "Cor": ("CORNER",), "Crse": ("COURSE",),
    "Ct": ("COURT",), "Cts": ("COURTS",), "Cv": ("COVE",), "Crk": ("CREEK",),
    "Cres": ("CRESCENT", "CRSENT", "CRSNT"), "Crst": ("CREST",), "Xing": ("CROSSING", "CRSSNG"),
    "Dl": ("DALE",), "Dm": ("DAM",), "Dv": ("DIVIDE", "DIV", "DVD"),
    "Dr": ("DRIVE", "DRIV", "DRV"), "Est": ("ESTATE",), "Ests": ("ESTATES",),
    "Expy": ("EXPRESSWAY", "EXP", "EXPR", "EXPRESS", "EXPW"),
    "Ext": ("EXTENSION", "EXTN", "EXTNSN"),
    "Fls": ("FALLS",), "Fry": ("FERRY", "FRRY"), "Fld": ("FIELD",), "Flds": ("FIELDS",),
    "Flt": ("FLAT",), "Frd": ("FORD",), "Frst": ("FOREST", "FORESTS"), "Frg": ("FORGE", "FORG"),
    "Frk": ("FORK",), "Ft": ("FORT", "FRT"), "Fwy": ("FREEWAY", "FREEWY", "FRWAY", "FRWY"),
    "Gdn": ("GARDEN", "GARDN", "GRDEN", "GRDN"), "Gdns": ("GARDENS", "GRDNS"),
    "Gtwy": ("GATEWAY", "GATEWY", "GATWAY", "GTWAY"), "Gln": ("GLEN",), "Grn": ("GREEN",),
    "Grv": ("GROVE", "GROV"), "Hbr": ("HARBOR", "HARB", "HARBR", "HRBOR"), "Hvn": ("HAVEN",),
    "Hts": ("HEIGHTS", "HT"), "Hwy": ("HIGHWAY", "HIGHWY", "HIWAY", "HIWY", "HWAY"),
    "Hl": ("HILL",), "Hls": ("HILLS",), "Holw": ("HOLLOW", "HLLW", "HOLLOWS", "HOLWS"),
    "Is": ("ISLAND", "ISLND"), "Jct": ("JUNCTION", "JCTION", "JCTN", "JUNCTN", "JUNCTON"),
    "Ky": ("KEY",), "Knl": ("KNOLL", "KNOL"), "Lk": ("LAKE",), "Lks": ("LAKES",),
    "Lndg": ("LANDING", "LNDNG"), "Ln": ("LANE",), "Lgt": ("LIGHT",), "Ldg": ("LODGE", "LDGE",
    "LODG"), "Loop": ("LOOPS",), "Mall": (), "Mnr": ("MANOR",), "Mdw": ("MEADOW",),
    "Mdws": ("MEADOWS", "MEDOWS"), "Ml": ("MILL",), "Mls": ("MILLS",), "Msn": ("MISSION", "MISSN",
    "MSSN"), "Mtwy": ("MOTORWAY",), "Mt": ("MOUNT", "MNT"), "Mtn": ("MOUNTAIN", "MNTAIN", "MNTN",
    "MOUNTIN", "MTIN"), "Nck": ("NECK",), "Orch": ("ORCHARD", "ORCHRD"), "Oval": ("OVL",),
    "Opas": ("OVERPASS",), "Park": ("PRK", "PARKS"), "Pkwy": ("PARKWAY", "PARKWY", "PKWAY", "PKY",
    "PARKWAYS", "PKWYS"), "Pass": (), "Path": ("PATHS",), "Pike": ("PIKES",),
    "Pne": ("PINE",), "Pnes": ("PINES",), "Pl": ("PLACE",), "Pln": ("PLAIN",),
    "Plns": ("PLAINS",), "Plz": ("PLAZA", "PLZA"), "Pt": ("POINT",), "Pts": ("POINTS",),
    "Prt": ("PORT",), "Pr": ("PRAIRIE", "PRR"), "Radl": ("RADIAL", "RAD", "RADIEL"),
    "Rnch": ("RANCH", "RANCHES", "RNCHS"), "Rpd": ("RAPID",), "Rst": ("REST",),
    "Rdg": ("RIDGE", "RDGE"), "Riv": ("RIVER", "RVR", "RIVR"), "Rd": ("ROAD",),
    "Rds": ("ROADS",), "Rte": ("ROUTE",), "Row": (), "Run": (), "Shl": ("SHOAL",),
    "Shr": ("SHORE", "SHOAR"), "Skwy": ("SKYWAY",), "Spg": ("SPRING", "SPNG", "SPRNG"),
    "Spgs": ("SPRINGS", "SPNGS", "SPRNGS"), "Spur": ("SPURS",), "Sq": ("SQUARE", "SQR", "SQRE",
    "SQU"), "Sta": ("STATION", "STATN", "STN"), "Stra": ("STRAVENUE", "STRAV", "STRAVEN",
    "STRAVN", "STRVN", "STRVNUE"), "Strm": ("STREAM", "STREME"), "St": ("STREET", "STRT", "STR"),
    "Sts": ("STREETS",), "Smt": ("SUMMIT", "SUMIT", "SUMITT"), "Ter": ("TERRACE", "TERR"),
    "Trce": ("TRACE", "TRACES"), "Trak": ("TRACK", "TRACKS", "TRK", "TRKS"),
    "Trl": ("TRAIL", "TRAILS", "TRLS"), "Tunl": ("TUNNEL", "TUNEL", "TUNLS", "TUNNELS", "TUNNL"),
    "Tpke": ("TURNPIKE", "TRNPK", "TURNPK"), "Upas": ("UNDERPASS",), "Un": ("UNION",),
    "Vly": ("VALLEY", "VALLY", "VLLY"), "Via": ("VIADUCT", "VDCT", "VIADCT"), "Vw": ("VIEW",),
    "Vlg": ("VILLAGE", "VILL", "VILLAG", "VILLG", "VILLIAGE"), "Vl": ("VILLE",),
    "Vis": ("VISTA", "VIST", "VST", "VSTA"), "Walk": ("WALKS",), "Wall": (), "Way": ("WY",),
    "Wl": ("WELL",), "Wls": ("WELLS",),
}  # fmt: skip
STREET_TYPES: dict[str, str] = {
    spelling: abbr
    for abbr, spellings in _SUFFIX_GROUPS.items()
    for spelling in (abbr.upper(), *spellings)
}

UNIT_TYPES: dict[str, str] = {
    "APARTMENT": "APT", "APT": "APT", "SUITE": "STE", "STE": "STE", "UNIT": "UNIT",
    "BUILDING": "BLDG", "BLDG": "BLDG", "FLOOR": "FL", "FL": "FL", "ROOM": "RM", "RM": "RM",
    "LOT": "LOT", "SPACE": "SPC", "SPC": "SPC", "TRAILER": "TRLR", "TRLR": "TRLR",
    "DEPARTMENT": "DEPT", "DEPT": "DEPT", "OFFICE": "OFC", "OFC": "OFC", "PENTHOUSE": "PH",
    "PH": "PH", "SLIP": "SLIP", "PIER": "PIER", "HANGAR": "HNGR", "HNGR": "HNGR", "#": "#",
    "NO": "#", "NUMBER": "#",
}  # fmt: skip

# Highway and route names (Pub 28 writes highway designations with the abbreviations of its
# street-type table: HIGHWAY → HWY, ROUTE → RTE, ROAD → RD; state and US designations keep their
# qualifier, STATE HWY, US HWY, COUNTY RD; Texas farm- and ranch-to-market roads are FM and RM,
# as USPS addresses write them). Keys: the words as written, upper case, dots dropped; values:
# the stored form. Longer phrases are tried first.
HIGHWAY_PHRASES: dict[tuple[str, ...], str] = {
    ("FARM", "TO", "MARKET", "ROAD"): "FM", ("FARM", "TO", "MARKET", "RD"): "FM",
    ("FARM", "TO", "MARKET"): "FM", ("FARM", "MARKET"): "FM", ("FM",): "FM",
    ("RANCH", "TO", "MARKET", "ROAD"): "RM", ("RANCH", "TO", "MARKET", "RD"): "RM",
    ("RANCH", "TO", "MARKET"): "RM", ("RM",): "RM",
    ("US", "HIGHWAY"): "US Hwy", ("US", "HWY"): "US Hwy", ("U", "S", "HIGHWAY"): "US Hwy",
    ("US", "ROUTE"): "US Hwy", ("US", "RTE"): "US Hwy", ("US",): "US Hwy",
    ("STATE", "HIGHWAY"): "State Hwy", ("STATE", "HWY"): "State Hwy", ("SH",): "State Hwy",
    ("STATE", "ROUTE"): "State Rte", ("STATE", "RTE"): "State Rte", ("SR",): "State Rte",
    ("STATE", "ROAD"): "State Rd", ("STATE", "RD"): "State Rd",
    ("COUNTY", "ROAD"): "County Rd", ("COUNTY", "RD"): "County Rd", ("CO", "RD"): "County Rd",
    ("CR",): "County Rd", ("COUNTY", "HIGHWAY"): "County Hwy", ("COUNTY", "HWY"): "County Hwy",
    ("INTERSTATE", "HIGHWAY"): "Interstate", ("INTERSTATE",): "Interstate", ("IH",): "Interstate",
    ("I",): "Interstate",
    ("HIGHWAY",): "Hwy", ("HWY",): "Hwy", ("HIWAY",): "Hwy", ("HIGHWY",): "Hwy", ("HWAY",): "Hwy",
    ("HIWY",): "Hwy", ("ROUTE",): "Rte", ("RTE",): "Rte", ("RT",): "Rte",
}  # fmt: skip
# Designators written joined to their number: "US-67", "IH35", "SH-71", "FM1960".
HIGHWAY_JOINED = ("US", "SH", "SR", "FM", "RM", "CR", "IH", "I", "HWY", "RTE", "RT")
