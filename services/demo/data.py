"""Demo records. Dates and statements are illustrative, not an official record."""

from datetime import date

NETWORK_ESTABLISHED = date(2018, 12, 9)

# (acronym, name)
EXECUTIVE_COMMITTEE = (
    ("DESA", "United Nations Department of Economic and Social Affairs"),
    ("ILO", "International Labour Organization"),
    ("IOM", "International Organization for Migration"),
    ("OHCHR", "Office of the United Nations High Commissioner for Human Rights"),
    ("UNDP", "United Nations Development Programme"),
    ("UNHCR", "Office of the United Nations High Commissioner for Refugees"),
    ("UNICEF", "United Nations Children's Fund"),
    ("UNODC", "United Nations Office on Drugs and Crime"),
)

# (acronym, name, joined, left)
EXTENDED_TIER = (
    ("FAO", "Food and Agriculture Organization of the United Nations", date(2019, 1, 15), None),
    ("UNFPA", "United Nations Population Fund", date(2019, 1, 15), None),
    ("UN-Habitat", "United Nations Human Settlements Programme", date(2019, 1, 15), None),
    ("UNESCO", "United Nations Educational, Scientific and Cultural Organization", date(2019, 1, 15), None),
    ("UN Women", "United Nations Entity for Gender Equality and the Empowerment of Women", date(2019, 1, 15), None),
    ("WFP", "World Food Programme", date(2019, 3, 1), None),
    ("WHO", "World Health Organization", date(2019, 3, 1), None),
    ("UNCTAD", "United Nations Conference on Trade and Development", date(2019, 9, 1), None),
    ("OCHA", "Office for the Coordination of Humanitarian Affairs", date(2020, 2, 1), None),
    ("UNEP", "United Nations Environment Programme", date(2021, 3, 1), None),
    ("UNITAR", "United Nations Institute for Training and Research", date(2019, 1, 15), date(2023, 12, 31)),
)

# (acronym, name, kind): stakeholders invited to meetings, never members.
STAKEHOLDERS = (
    ("MFA", "Migrant Forum in Asia", "civil_society"),
    ("UCLG", "United Cities and Local Governments", "local_authority"),
    ("IOE", "International Organisation of Employers", "private_sector"),
)

COORDINATOR_RELEVANCE = (
    "The UN migration agency: migration is its whole mandate, and the Secretary-General "
    "named it coordinator and secretariat of the Network."
)
COORDINATOR_CAPACITY = "Secretariat staff at headquarters and field presence in over 170 countries."


def core_statements(acronym: str) -> tuple[str, str]:
    """Demo mandate-relevance and capacity statements for an Executive Committee member."""
    return (
        f"{acronym}'s mandate bears directly on the objectives of the Global Compact for Migration.",
        f"{acronym} contributes policy expertise, data and country-level presence to the Network's work.",
    )
