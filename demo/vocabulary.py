"""The fixed word lists names, titles and notes are drawn from.

Fixed lists picked with the seeded Random: Faker is ~50x slower per value and its output
changes between Faker releases, which would break `--seed` determinism.
"""

from __future__ import annotations

from leads.models import Activity, Source

COUNTRIES: dict[str, float] = {
    "ID": 0.45, "SG": 0.12, "MY": 0.07, "AU": 0.06, "US": 0.13, "GB": 0.08, "DE": 0.05, "NL": 0.04,
}  # fmt: skip
TERRITORY = {
    "ID": "Indonesia", "SG": "APAC", "MY": "APAC", "AU": "APAC",
    "US": "Americas", "GB": "EMEA", "DE": "EMEA", "NL": "EMEA",
}  # fmt: skip
TLD = {
    "ID": ".co.id", "SG": ".com.sg", "MY": ".com.my", "AU": ".com.au",
    "US": ".com", "GB": ".co.uk", "DE": ".de", "NL": ".nl",
}  # fmt: skip
LEGAL_SUFFIX = {
    "SG": "Pte Ltd", "MY": "Sdn Bhd", "AU": "Pty Ltd", "US": "Inc.", "GB": "Ltd", "DE": "GmbH",
    "NL": "B.V.",
}  # fmt: skip
PHONE_PREFIX = {
    "ID": "+62 812", "SG": "+65 9", "MY": "+60 12", "AU": "+61 4", "US": "+1 212 555",
    "GB": "+44 20 7946", "DE": "+49 30", "NL": "+31 20",
}  # fmt: skip

ID_PREFIXES = (
    "Nusantara", "Sinar", "Cahaya", "Mitra", "Karya", "Sejahtera", "Bumi", "Cipta", "Maju",
    "Prima", "Jaya", "Mega", "Surya", "Bintang", "Anugerah", "Sentosa", "Makmur", "Buana",
    "Citra", "Dharma", "Garuda", "Harapan", "Indah", "Kencana", "Lestari", "Mulia", "Nusa",
    "Permata", "Rajawali", "Samudra", "Tirta", "Wahana", "Arta", "Bahtera", "Cakra", "Daya",
    "Graha", "Intan", "Kartika", "Mandala", "Pelita", "Sakti", "Tunas", "Wijaya", "Mahkota",
    "Bakti", "Gemilang", "Persada",
)  # fmt: skip
ID_SECTORS = {  # word in the company name: industry
    "Logistik": "Logistics", "Teknologi": "Technology", "Digital": "Technology",
    "Niaga": "Wholesale trade", "Solusi": "IT services", "Distribusi": "Distribution",
    "Energi": "Energy", "Farmasi": "Pharmaceuticals", "Properti": "Real estate",
    "Finansial": "Financial services", "Telekomunikasi": "Telecommunications",
    "Agro": "Agriculture", "Ritel": "Retail", "Kreatif": "Media", "Media": "Media",
    "Konstruksi": "Construction", "Manufaktur": "Manufacturing", "Ekspedisi": "Logistics",
    "Pangan": "Food and beverage", "Kimia": "Chemicals", "Asuransi": "Insurance",
    "Edukasi": "Education", "Kesehatan": "Healthcare", "Otomotif": "Automotive",
}  # fmt: skip
ID_TAILS = (
    "", "Indonesia", "Utama", "Abadi", "Mandiri", "Perkasa", "Sentral", "Raya", "Internasional",
    "Jakarta", "Surabaya", "Bandung", "Medan", "Semarang", "Makassar", "Batam", "Balikpapan",
    "Palembang", "Denpasar", "Yogyakarta",
)  # fmt: skip
INTL_ROOTS = (
    "Bright", "Blue", "Clear", "Deep", "Far", "Green", "High", "Iron", "Lumen", "North", "Open",
    "Peak", "Quick", "Red", "Silver", "Swift", "True", "Vast", "Wild", "Zen", "Core", "Cloud",
    "Fresh", "Gold", "Hyper", "Key", "Nova", "Omni", "Pixel", "Quant", "Rapid", "Sky", "Terra",
    "Ultra", "Vertex", "Amber", "Cedar", "Harbor", "Maple", "Orbit",
)  # fmt: skip
INTL_ENDINGS = (
    "wave", "point", "stone", "field", "bridge", "path", "line", "leaf", "works", "forge",
    "stack", "grid", "port", "light", "mark", "shift", "scale", "loop", "nest", "gate",
)  # fmt: skip
INTL_SECTORS = {
    "Analytics": "IT services", "Logistics": "Logistics", "Health": "Healthcare",
    "Payments": "Financial services", "Software": "Technology", "Robotics": "Manufacturing",
    "Foods": "Food and beverage", "Energy": "Energy", "Media": "Media", "Labs": "Technology",
    "Systems": "IT services", "Retail": "Retail", "Finance": "Financial services",
    "Security": "Technology", "Networks": "Telecommunications", "Mobility": "Automotive",
    "Learning": "Education", "Insurance": "Insurance", "Capital": "Financial services",
    "Manufacturing": "Manufacturing",
}  # fmt: skip
INTL_QUALIFIERS = (
    "Asia", "Group", "Global", "Holdings", "International", "Partners", "Solutions", "Digital",
    "Pacific", "Europe",
)  # fmt: skip

ID_FIRST = (
    "Adi", "Agus", "Andi", "Anisa", "Ayu", "Bayu", "Budi", "Citra", "Dian", "Dimas", "Eka",
    "Fajar", "Fitri", "Gilang", "Hendra", "Indah", "Intan", "Joko", "Kartika", "Lestari", "Maya",
    "Nanda", "Nur", "Putri", "Rani", "Reza", "Rina", "Rizky", "Sari", "Siti", "Teguh", "Tri",
    "Wahyu", "Wulan", "Yoga", "Yudi", "Yuliana", "Zahra", "Arief", "Bambang",
)  # fmt: skip
ID_LAST = (
    "Santoso", "Wijaya", "Pratama", "Saputra", "Hidayat", "Kusuma", "Nugroho", "Setiawan",
    "Siregar", "Simanjuntak", "Halim", "Gunawan", "Hartono", "Susanto", "Wibowo", "Purnomo",
    "Permana", "Nasution", "Harahap", "Tanjung", "Utomo", "Rahman", "Sitompul", "Hakim",
    "Firmansyah", "Suryadi", "Kurniawan", "Putra", "Salim", "Lubis",
)  # fmt: skip
INTL_FIRST = (
    "James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sophie",
    "Daniel", "Chloe", "Wei", "Mei", "Arjun", "Priya", "Hiroshi", "Yuki", "Lukas", "Anna",
    "Jonas", "Lea", "Thomas", "Charlotte", "Oliver", "Grace", "Ahmad", "Nurul", "Farah", "Hafiz",
    "Marcus", "Isabel", "Ryan", "Hannah", "Kevin", "Rachel", "Sean", "Nina", "Raj", "Elena",
)  # fmt: skip
INTL_LAST = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Lee", "Tan", "Lim", "Ng",
    "Wong", "Chen", "Kumar", "Singh", "Patel", "Schmidt", "Fischer", "Weber", "de Vries",
    "van Dijk", "Jansen", "Bakker", "Clarke", "Hughes", "Walker", "Evans", "Nguyen", "Abdullah",
    "Ismail", "Yamamoto", "Sato", "Murphy", "O'Brien", "Campbell", "Scott", "Becker", "Novak",
    "Rossi", "Khan", "Cooper",
)  # fmt: skip

# (title, decision maker?) — about a third of leads can sign.
JOB_TITLES = (
    ("CEO", True), ("CFO", True), ("COO", True), ("CTO", True), ("VP Sales", True),
    ("VP Operations", True), ("Head of Procurement", True), ("Director of IT", True),
    ("Head of Finance", True), ("Sales Operations Manager", False), ("IT Manager", False),
    ("Procurement Specialist", False), ("Operations Manager", False),
    ("Business Analyst", False), ("Marketing Manager", False), ("Finance Manager", False),
    ("Product Manager", False), ("Data Engineer", False), ("RevOps Lead", False),
    ("Customer Success Manager", False), ("Head of Growth", False), ("Logistics Manager", False),
)  # fmt: skip
BUYER_TITLES = ("CFO", "COO", "VP Operations", "Head of Finance", "CEO", "Director of IT")

CAMPAIGNS: dict[str, tuple[str, ...]] = {
    Source.INBOUND: (
        "Website demo request", "Pricing page", "Guide: the lead SLA playbook",
        "Google Ads: lead routing", "LinkedIn Ads: RevOps leaders", "",
    ),
    Source.OUTBOUND: (
        "ABM: Enterprise APAC", "Sequence: Logistics Indonesia", "Sequence: Fintech SEA",
        "Sequence: Mid-market EMEA", "",
    ),
    Source.EVENT: (
        "Jakarta SaaS Summit", "Webinar: from MQL to pipeline", "RevOps Meetup Singapore",
        "Webinar: fixing the SDR-AE hand-off", "Tech Week Amsterdam",
    ),
    Source.REFERRAL: ("Customer referral programme", "Customer referral programme", ""),
    Source.PARTNER: ("Partner: Nusa Cloud reseller", "Partner: integrator network",
                     "Cloud marketplace listing"),
    Source.OTHER: ("", "Trade directory import", "Re-engagement list"),
}  # fmt: skip

PRODUCT_LINES = (
    "Core Platform", "Analytics Add-on", "Data Integration", "Premium Support",
    "Professional Services",
)  # fmt: skip
USE_CASES = (
    "Sales forecasting", "Customer onboarding", "Field service scheduling",
    "Procurement automation", "Fraud monitoring", "Supply chain visibility",
    "Support analytics", "Partner portal", "Subscription billing", "Fleet tracking",
)  # fmt: skip
COMPETITORS = ("Pipewise", "SalesHarbor", "Kanal Suite", "LeadLoom", "Northwind CRM")
DECISION_CRITERIA = (
    "Time to value under 60 days; native ERP integration; local data residency.",
    "Total cost over three years; SSO and audit log; Bahasa Indonesia support.",
    "API coverage; security review pass; reference customers in the same industry.",
    "Ease of use for frontline staff; mobile app; 24/7 support SLA.",
)  # fmt: skip
RISKS = (
    "Budget approval slips to the next fiscal year.",
    "IT security review has a six-week backlog.",
    "Champion is new in role; economic buyer not yet met.",
    "Incumbent vendor offers a steep renewal discount.",
    "Procurement requires three quotes.",
)  # fmt: skip
LOST_REASONS = (
    ("Chose a competitor on price.", True),
    ("Chose a competitor with a local partner.", True),
    ("No decision: project deprioritised.", False),
    ("Budget cut in the new fiscal year.", False),
    ("Champion left; no executive sponsor.", False),
    ("Failed the security review.", False),
    ("Decided to build in-house.", False),
)  # fmt: skip
NURTURE_REASONS = (
    "Not ready: budget frozen until next fiscal year.",
    "Timing: revisit after their ERP migration.",
    "Interested but no project this year.",
    "Champion went quiet after two follow-ups.",
    "Asked to reconnect next quarter.",
)  # fmt: skip
DISQUALIFY_REASONS = (
    "Company too small for our product.",
    "Outside the regions we serve.",
    "Student or personal project.",
    "No budget and no path to budget.",
    "Spam or fake form submission.",
)  # fmt: skip
# The disqualification reason (code, leads migration 0006) each of those notes explains.
DISQUALIFY_REASON_CODES: dict[str, str] = {
    "Company too small for our product.": "too-small",
    "Outside the regions we serve.": "outside-market",
    "Student or personal project.": "personal",
    "Spam or fake form submission.": "not-a-company",
}  # others: "other", the note explains
# Why marketing passed a lead on, by source (others: the score crossed the threshold).
MQL_REASONS: dict[str, str] = {
    Source.INBOUND: "Demo request form; score crossed the MQL threshold.",
    Source.EVENT: "Event attendee with a booth conversation.",
    Source.REFERRAL: "Referred by an existing customer.",
    Source.PARTNER: "Registered by a partner.",
}
REJECTION_NOTES: dict[str, tuple[str, ...]] = {
    "not-icp": ("Twelve staff, no sales team; outside our ICP.",
                "B2C retailer; we sell to B2B teams."),
    "no-intent": ("Downloaded a guide only; no project planned.",
                  "Replied they are happy with their current tool."),
    "wrong-contact": ("Intern filling in the form; no authority.",
                      "Contact left the company; no replacement named."),
    "duplicate": ("Same person already in an open lead from last month.",),
    "bad-data": ("Phone number invalid and e-mail bounced.",),
    "existing-customer": ("Already a customer; passed to account management.",),
    "competitor": ("Works for a competitor; researching us.",),
    "other": ("Asked not to be contacted again.",),
}  # fmt: skip
REJECTION_WEIGHTS = {
    "not-icp": 30, "no-intent": 25, "wrong-contact": 12, "duplicate": 8, "bad-data": 10,
    "existing-customer": 5, "competitor": 5, "other": 5,
}  # fmt: skip
DISCOUNT_NOTES = ("", "", "10 % off for a two-year term.", "Launch pricing for the first year.")
CLOSE_DATE_REASON = "The customer's fiscal year drives the signing date."
FORCING_EVENTS = (
    "Current vendor contract ends", "New fiscal year budget", "Regulatory audit",
    "Expansion into a new region", "Board mandate to cut sales costs",
)  # fmt: skip


# What reps log between first contact and the accept-or-reject decision.
FOLLOW_UPS = (
    (Activity.Kind.CALL, "Follow-up call"),
    (Activity.Kind.EMAIL, "Follow-up e-mail with a case study"),
    (Activity.Kind.EMAIL, "Sent the pricing overview"),
    (Activity.Kind.CALL, "Left a voicemail"),
)

# The activity logged when a deal enters a stage.
STAGE_ACTIVITIES = {
    "Qualification": (Activity.Kind.CALL, "Qualification call with the buying team"),
    "Present/Demo": (Activity.Kind.MEETING, "Product demo"),
    "Proposal": (Activity.Kind.EMAIL, "Proposal sent"),
    "Negotiation": (Activity.Kind.CALL, "Commercial terms call"),
    "Post-sale": (Activity.Kind.MEETING, "Kick-off with customer success"),
}

# An open deal's next step, by the stage it is in.
NEXT_STEPS = {
    "Discovery": "Map the decision process with the economic buyer",
    "Qualification": "Confirm budget owner and evaluation criteria",
    "Present/Demo": "Run the tailored demo for the operations team",
    "Proposal": "Walk the CFO through the proposal",
    "Negotiation": "Agree final terms with procurement",
}
