"""Demo records. Dates and statements are illustrative, not an official record."""

from datetime import UTC, date, datetime

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

# The IATI organisation identifiers these UN entities publish under (XM-DAC and their OECD DAC
# channel code). Only the ones checked are listed; the others get theirs once checked against
# the IATI registry, never guessed.
IATI_IDENTIFIERS = {
    "IOM": "XM-DAC-47066",
    "UNHCR": "XM-DAC-41121",
    "UNICEF": "XM-DAC-41122",
    "UNDP": "XM-DAC-41114",
    "ILO": "XM-DAC-41302",
    "FAO": "XM-DAC-41301",
}

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

# Regional networks and who leads them: (name, short name, region, established, coordinators,
# secretariats). The first coordinator is named at creation and holds
# both posts; the others hold theirs from the same day. Illustrative, as the rest.
REGIONAL_NETWORKS = (
    (
        "Regional Network on Migration for Latin America and the Caribbean",
        "LAC",
        "ECLAC",
        date(2020, 2, 1),
        ["IOM", "ECLAC"],  # co-led
        ["IOM", "ECLAC"],
    ),
    (
        "Regional Network on Migration for the Arab Region",
        "Arab region",
        "ESCWA",
        date(2019, 11, 1),
        ["IOM"],
        ["IOM", "ESCWA"],  # IOM coordinates and is co-secretariat with ESCWA
    ),
)
# (acronym, name): UN regional commissions, which lead regional networks.
REGIONAL_COMMISSIONS = (
    ("ECLAC", "Economic Commission for Latin America and the Caribbean"),
    ("ESCWA", "Economic and Social Commission for Western Asia"),
)
# (acronym, name, kind): stakeholders seated in working groups, never members of the Network.
WORKING_GROUP_STAKEHOLDERS = (
    ("ACT Alliance", "ACT Alliance", "civil_society"),
    ("OECD", "Organisation for Economic Co-operation and Development", "other"),
    ("ODI", "ODI Global", "academia"),
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


# Working groups: (slug, name, objectives, principles, sdg targets, chairs, members, activated_on or None)
WORKING_GROUPS = (
    (
        "alternatives-to-detention",
        "Alternatives to immigration detention",
        [13, 7],
        ["human-rights", "child-sensitive"],
        ["10.7", "16.2"],
        ["OHCHR", "UNICEF"],
        ["UNHCR", "IOM", "UNODC", "WHO"],
        date(2019, 7, 1),
    ),
    (
        "return-and-reintegration",
        "Return and sustainable reintegration",
        [21],
        ["human-rights", "sustainable-development"],
        ["10.7"],
        ["IOM"],
        ["UNDP", "ILO", "UNHCR", "UNICEF"],
        date(2019, 9, 1),
    ),
    (
        "bilateral-labour-migration",
        "Bilateral labour migration agreements",
        [5, 6, 18, 22],
        ["whole-of-government"],
        ["8.8", "10.7"],
        ["ILO", "IOM"],
        ["DESA", "UN Women", "UNDP"],
        date(2020, 3, 1),
    ),
    (
        "regular-pathways",
        "Regular pathways for admission and stay",
        [5, 18],
        ["whole-of-society", "human-rights"],
        ["10.7"],
        ["ILO", "UNHCR"],
        ["IOM", "UNICEF", "ACT Alliance", "OECD", "MFA", "IOE"],  # stakeholders seated beside members
        date(2021, 6, 1),
    ),
    (
        "migration-data",
        "Migration data for development",
        [1, 3],
        ["sustainable-development"],
        ["17.18"],
        ["DESA"],
        ["IOM", "UNFPA"],
        None,
    ),
)
WORKING_GROUP_CHAIRS_FROM = date(2019, 6, 1)

# MoUs: (reference, title, parties, [(description, objectives, lead, supporters)], effective, state)
MOUS = (
    (
        "MOU/IOM-UNHCR/2019",
        "Joint action on mixed movements of refugees and migrants",
        ["IOM", "UNHCR"],
        [
            ("Protection in mixed movements", [7, 8], "UNHCR", ["IOM"]),
            ("Assisted voluntary return and reintegration", [21], "IOM", ["UNHCR"]),
        ],
        date(2019, 3, 1),
        "active",
    ),
    (
        "MOU/ILO-IOM/2020",
        "Cooperation on fair recruitment and skills",
        ["ILO", "IOM"],
        [("Fair and ethical recruitment", [6], "ILO", ["IOM"]), ("Recognition of skills", [18], "IOM", ["ILO"])],
        date(2020, 6, 1),
        "active",
    ),
    (
        "MOU/UNODC-IOM/2021",
        "Countering migrant smuggling and trafficking in persons",
        ["UNODC", "IOM"],
        [
            ("Counter-smuggling", [9, 10], "UNODC", ["IOM"]),
            ("Referral of exploited migrant workers", [6, 10], "IOM", ["UNODC"]),
        ],
        date(2021, 1, 15),
        "active",
    ),
    (
        "MOU/CHILDREN/2026",
        "Children on the move",
        ["UNICEF", "UNHCR", "IOM"],
        [("Child protection along migration routes", [7], "UNICEF", ["UNHCR", "IOM"])],
        date(2027, 1, 1),
        "draft",
    ),
)
# The IOM-UNHCR MoU is being refreshed: a successor under negotiation.
REFRESH = ("MOU/IOM-UNHCR/2019", "MOU/IOM-UNHCR/2026", date(2027, 3, 1))
SIGNED_ON = date(2019, 2, 1)

FRAMING_CONFERENCE = ("Framing conference of the Network", datetime(2019, 5, 15, 7, 0, tzinfo=UTC))
# Extended-membership meetings are placed relative to the day the demo is loaded, so that a
# fresh `make run` shows the annual rule met and reminders coming up.
LAST_EXTENDED_MEETING_DAYS_AGO = 330
NEXT_EXTENDED_MEETING_IN_DAYS = 10

# Effectiveness reviews, also relative to the load day: the last cycle fell due ten months
# ago and is completed, with recommendations being followed up; the next one is open.
REVIEW_LEAD = "DESA"
LAST_REVIEW_DUE_MONTHS_AGO = 10
REVIEW_FINDINGS = (
    "Demo record. The two-tier configuration works: the Executive Committee gives direction and "
    "the extended membership broadens the Network's reach. Coverage of the Compact's objectives "
    "is uneven (several objectives have no lead), two objectives have competing leads, and the "
    "extended membership met only once with other stakeholders."
)
# (text, owner, months after the review completed that it falls due, status, reason if dropped)
RECOMMENDATIONS = (
    ("Agree a lead for each GCM objective no MoU or working group covers.", "UNDP", 12, "open", None),
    ("Settle the competing leads on objectives 6 and 10 in the refreshed MoUs.", "UNHCR", 6, "in_progress", None),
    ("Publish the working groups' terms of reference on the Network's site.", "IOM", 2, "done", None),
    (
        "Convene the extended membership quarterly.",
        "ILO",
        6,
        "dropped",
        "The annual meeting with stakeholders suffices.",
    ),
)

# Workplans: (title, start, end, activities); an activity is (title, leads, working group slug
# or None, workstream or None, GCM objectives, start, end, [(status, changed on), ...]).
WORKPLANS = (
    (
        "Workplan 2021-2022",
        date(2021, 1, 1),
        date(2022, 12, 31),
        (
            (
                "Launch of the Migration Network Hub",
                ("IOM",),
                None,
                "Knowledge",
                (23,),
                date(2021, 1, 1),
                date(2021, 12, 31),
                (("yet_to_start", date(2021, 1, 1)), ("ongoing", date(2021, 2, 1)), ("completed", date(2021, 11, 30))),
            ),
        ),
    ),
    (
        "Workplan 2022-2024",
        date(2022, 1, 1),
        date(2024, 12, 31),
        (
            (
                "Guidance on bilateral labour migration agreements",
                ("ILO", "IOM"),
                None,
                "Labour migration",
                (6,),
                date(2022, 2, 1),
                date(2023, 6, 30),
                (("yet_to_start", date(2022, 1, 15)), ("ongoing", date(2022, 3, 1)), ("completed", date(2023, 6, 15))),
            ),
            (
                "Alternatives to immigration detention: peer learning",
                ("OHCHR", "UNICEF"),
                "alternatives-to-detention",
                None,
                (13,),
                date(2022, 3, 1),
                date(2024, 12, 31),
                (("yet_to_start", date(2022, 1, 15)), ("ongoing", date(2022, 4, 1))),
            ),
            (
                "Regional reviews of the Global Compact",
                ("DESA",),
                None,
                "Review",
                (23,),
                date(2024, 1, 1),
                date(2024, 12, 31),
                (("yet_to_start", date(2022, 1, 15)),),
            ),
        ),
    ),
)
WORKPLAN_OUTPUT = (
    "Guidance on bilateral labour migration agreements",
    "Guidance on BLMAs",
    "https://migrationnetwork.un.org/resources/guidance-bilateral-labour-migration-agreements",
    date(2022, 2, 10),
)

# Champion countries: (ISO 3166-1 code, since).
CHAMPION_COUNTRIES = (
    ("BD", date(2020, 9, 1)),
    ("CA", date(2020, 9, 1)),
    ("KE", date(2021, 3, 1)),
    ("MX", date(2020, 9, 1)),
    ("PT", date(2020, 9, 1)),
)

# Pledges: (pledger country code or entity acronym, title, objectives, due in days from today
# (negative: past due), status).
PLEDGES: tuple[tuple[str, str, tuple[int, ...], int, str], ...] = (
    ("MX", "Regularisation pathways for migrant workers", (5, 7), -120, "in_progress"),
    ("IOM", "Data for the Migration Network Hub", (1, 23), 20, "announced"),
    ("PT", "Mobility partnership with two countries of origin", (5,), -400, "fulfilled"),
)

# Focal points (illustrative, fictional people; addresses on the reserved example.org domain):
# (entity, name, title, e-mail, preferred language, [(subject, start, end)]), where subject is
# "entity" (their own entity) or "network" (the global Network).
FOCAL_POINTS = (
    (
        "IOM",
        "Example Person Alpha",
        "Senior Migration Policy Officer",
        "alpha.focal@iom.example.org",
        "en",
        [("entity", date(2019, 1, 15), date(2023, 12, 31)), ("network", date(2024, 1, 1), None)],
    ),
    (
        "IOM",
        "Example Person Beta",
        "Migration Policy Officer",
        "beta.focal@iom.example.org",
        "fr",
        [("entity", date(2024, 1, 1), None)],
    ),
    (
        "UNHCR",
        "Example Person Gamma",
        "Senior Policy Adviser",
        "gamma.focal@unhcr.example.org",
        "ar",
        [("entity", date(2020, 3, 1), None)],
    ),
    (
        "ECLAC",
        "Example Person Delta",
        "Population Affairs Officer",
        "delta.focal@eclac.example.org",
        "es",
        [("entity", date(2021, 6, 1), None)],
    ),
)
