"""The text of the Global Compact for Safe, Orderly and Regular Migration (A/RES/73/195).

The General Assembly adopted the Compact in the six official languages, but the registry holds
its objectives and principles in English only: an official text may come only from a source
that can be cited, and no package of the registries the service is built from (PyPI, npm,
Debian) carries the resolution's Arabic, Chinese, French, Russian or Spanish text. Those
languages are missing, said so by the API (``missing_languages``) and never machine-written;
each can be added here from the resolution's official version, citing it."""

from services.locales import LANGUAGES

# The languages the texts below are held in, and those still missing.
TEXT_LANGUAGES: tuple[str, ...] = ("en",)
MISSING_LANGUAGES: tuple[str, ...] = tuple(language for language in LANGUAGES if language not in TEXT_LANGUAGES)

OBJECTIVES: tuple[str, ...] = (
    "Collect and utilize accurate and disaggregated data as a basis for evidence-based policies",
    "Minimize the adverse drivers and structural factors that compel people to leave their country of origin",
    "Provide accurate and timely information at all stages of migration",
    "Ensure that all migrants have proof of legal identity and adequate documentation",
    "Enhance availability and flexibility of pathways for regular migration",
    "Facilitate fair and ethical recruitment and safeguard conditions that ensure decent work",
    "Address and reduce vulnerabilities in migration",
    "Save lives and establish coordinated international efforts on missing migrants",
    "Strengthen the transnational response to smuggling of migrants",
    "Prevent, combat and eradicate trafficking in persons in the context of international migration",
    "Manage borders in an integrated, secure and coordinated manner",
    "Strengthen certainty and predictability in migration procedures for appropriate screening, assessment and referral",
    "Use migration detention only as a measure of last resort and work towards alternatives",
    "Enhance consular protection, assistance and cooperation throughout the migration cycle",
    "Provide access to basic services for migrants",
    "Empower migrants and societies to realize full inclusion and social cohesion",
    "Eliminate all forms of discrimination and promote evidence-based public discourse to shape perceptions of migration",
    "Invest in skills development and facilitate mutual recognition of skills, qualifications and competences",
    "Create conditions for migrants and diasporas to fully contribute to sustainable development in all countries",
    "Promote faster, safer and cheaper transfer of remittances and foster financial inclusion of migrants",
    "Cooperate in facilitating safe and dignified return and readmission, as well as sustainable reintegration",
    "Establish mechanisms for the portability of social security entitlements and earned benefits",
    "Strengthen international cooperation and global partnerships for safe, orderly and regular migration",
)

PRINCIPLES: tuple[tuple[str, str], ...] = (
    ("people-centred", "People-centred"),
    ("international-cooperation", "International cooperation"),
    ("national-sovereignty", "National sovereignty"),
    ("rule-of-law", "Rule of law and due process"),
    ("sustainable-development", "Sustainable development"),
    ("human-rights", "Human rights"),
    ("gender-responsive", "Gender-responsive"),
    ("child-sensitive", "Child-sensitive"),
    ("whole-of-government", "Whole-of-government approach"),
    ("whole-of-society", "Whole-of-society approach"),
)
