"""Embedded reference lists for the sample generator: names, nicknames, streets, cities, domains.

Lists are in rough frequency order (most common first); the generator weights by rank, so
Smith, Johnson, James, Mary and Maria come up far more often than names near the end.
Everything here is plain data: no randomness, no I/O.
"""

from __future__ import annotations

from typing import NamedTuple


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# ---- given names (US, mixed generations and origins), most common first ----------------------

MALE_GIVEN: tuple[str, ...] = _words("""
James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew
Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy Ronald Jose Jason
Edward Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Juan
Benjamin Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Carlos Adam
Nathan Henry Zachary Douglas Peter Kyle Noah Ethan Jeremy Walter Christian Keith Roger Terry Luis
Austin Sean Gerald Carl Harold Dylan Arthur Lawrence Jordan Jesse Bryan Billy Bruce Gabriel Miguel
Joe Logan Alan Albert Willie Elijah Wayne Randy Vincent Mason Roy Ralph Bobby Russell Bradley
Philip Eugene Louis Jorge Francisco Antonio Manuel Alejandro Ricardo Eduardo Fernando Javier
Roberto Diego Jesus Pedro Rafael Ramon Sergio Hector Oscar Liam Lucas Oliver Elias Mateo Sebastian
Leo Owen Hudson Wyatt Caleb Isaac Luke Hunter Connor Evan Ian Cole Chase Marcus Malik Jamal
DeShawn Tyrone Darnell Andre Terrence Cedric Rahul Raj Arjun Mohammed Omar Ahmed Ali Wei Hao Minh
Tuan Hiroshi Kenji Jin Sung Bjorn Sven Noel Theodore Frederick Edwin Howard Stanley Leonard
Martin Craig Shawn Todd Dale Glenn Curtis Travis Derek Troy Allen Victor Clarence Earl Francis
Lloyd Leroy Cecil Dominic Julian Xavier Ivan Angel Marco Felix Hugo Killian Declan
""")

FEMALE_GIVEN: tuple[str, ...] = _words("""
Mary Patricia Jennifer Linda Elizabeth Maria Barbara Susan Jessica Sarah Karen Lisa Nancy Margaret
Betty Sandra Ashley Dorothy Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie
Rebecca Laura Sharon Cynthia Kathleen Amy Shirley Angela Helen Anna Brenda Pamela Nicole Samantha
Katherine Emma Ruth Christine Catherine Debra Rachel Carolyn Janet Virginia Heather Diane Julie
Joyce Victoria Olivia Kelly Christina Lauren Joan Evelyn Judith Megan Cheryl Andrea Hannah Martha
Jacqueline Frances Gloria Ann Teresa Kathryn Sara Janice Jean Alice Madison Doris Abigail Julia
Judy Grace Denise Amber Marilyn Beverly Danielle Theresa Sophia Marie Diana Brittany Natalie
Isabella Charlotte Rose Alexis Kayla Ava Mia Harper Ella Chloe Zoe Lily Aria Scarlett Luna Camila
Sofia Valeria Ximena Guadalupe Rosa Ana Carmen Lucia Elena Gabriela Daniela Mariana Adriana
Veronica Yesenia Leticia Araceli Jasmine Aaliyah Imani Keisha Tamika Latoya Ebony Priya Aisha
Fatima Mei Linh Thu Hana Yuki Renee Joanne Jill Wendy Tammy Tracy Stacy Dawn Paula Lori Rhonda
Monica Erin Erica Kristen Crystal Tiffany Vanessa Alicia Courtney Allison Caroline Leah Bridget
Colleen Maureen Eileen Sylvia Irene Norma Lois Mildred Edna Gladys Esther Pauline Claire
Margarita Beatriz Silvia Juana Dolores Consuelo Siobhan Ingrid Astrid Greta Heidi Freya Noelle
""")

MIDDLE_MALE: tuple[str, ...] = _words("""
Lee James Michael Allen Joseph Edward Alan Ray Wayne Thomas John David William Robert Lynn Dean
Scott Paul Anthony Eugene Charles Andrew Christopher Francis Henry Jose Alexander Ryan Daniel Louis
""")

MIDDLE_FEMALE: tuple[str, ...] = _words("""
Ann Marie Lynn Elizabeth Louise Jean Mae Rose Renee Nicole Michelle Grace Jane Kay Lee Frances
Christine Diane Elaine Sue Jo Anne Maria Irene Rae Denise Dawn Alexandra Victoria Catherine
""")

# ---- family names: US Census 2010 order (approximately), most common first -------------------

FAMILY: tuple[str, ...] = _words("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker
Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James
Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro
Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen
Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw
Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar
Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan
Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart
Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray
Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence
Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper
Burke Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs
O'Brien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims
Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas Lucas
Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler Mejia Davidson
Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas Schneider Joseph Barrett
Navarro Figueroa Keller Avila Wade Molina Stanley Hopkins Campos Barnett Bates Chambers Caldwell
Beck Lambert Miranda Byrd Craig Ayala Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton
Fleming Rhodes Shelton Schwartz Norris Jennings Watts Duran Walters Cohen McDaniel Moran Parks
Steele Vaughn Becker Holt DeLeon Barker Terry Hale Leon Benson Haynes Horton Miles Lyons Pham
Graves Bush Thornton Wolfe Warner Cabrera McKinney Mann Zimmerman Dawson Lara Fletcher Page
McCarthy Love Robles Cervantes Solis Erickson Reeves Chang Klein Salinas Fuentes Baldwin Daniel
Simon Velasquez Hardy Higgins Aguirre Lin Cummings Chandler Sharp Barber Bowen Ochoa Dennis
Robbins Liu Ramsey Francis Griffith Paul Blair O'Connor Cardenas Pacheco Cross Calderon Quinn
Moss Swanson Chan Rivas Khan Rodgers Serrano Fitzgerald Rosales Stevenson Christensen Manning Gill
Curry McLaughlin Harmon McGee Gross Doyle Garner Newton Burgess Reese Walton Blake Trujillo Adkins
Brady Goodman Roman Webster Goodwin Fischer Huang Potter Montoya Todd Wu Hines Mullins Castaneda
Malone Cannon Tate Mack Sherman Hubbard Hodges Zhang Guerra Wolf Valencia Saunders Franco Rowe
Gallagher Farmer Hammond Hampton Townsend Ingram Wise Gallegos Clarke Barton Schroeder Maxwell
Waters Logan Camacho Strickland Norman Colon Parsons Frank Harrington Glover Osborne Buchanan
Casey Floyd Patton Ibarra Ball Tyler Suarez Bowers Orozco Salas Cobb Gibbs Andrade Bauer Conner
Moody Escobar McGuire Lloyd Mueller Hartman French Kramer McBride Pope Lindsey Velazquez Norton
McCormick Sparks Flynn Yates Hogan Marsh Macias Villanueva Zamora Pratt Stokes Owen Ballard Lang
Brock Villarreal Charles Drake Barrera Cain Patrick Pineda Burnett Mercado Santana Shepherd
Bautista Ali Shaffer Lamb Trevino McKenzie Hess Olsen Cochran Morton Nash Wilkins Petersen Briggs
Shah Roth Nicholson Holloway Lozano Rangel Flowers Hoover Short Arias Mora Valenzuela O'Neill
""")

# Rare family names for the long tail (a real population has tens of thousands of surnames).
TAIL_PREFIXES: tuple[str, ...] = _words("""
Ash Bar Bel Brad Cal Dal Ell Fair Gil Hal Har Hol Kel Lang Mar Mor Nor Ren Ros Stan Wal Wes Whit
Wood Bran Crom Dun Fen Gar Hamp Kings Lind Mid Pen Rad Shel Thorn Win Ald Brom Carl
""")
TAIL_SUFFIXES: tuple[str, ...] = _words("""
by den field ford ham ley more ton well wood man er worth stead berg ski son bury combe dale
""")

# Surnames with particles or internal capitals (hard cases for case folding and tokenising).
PARTICLE_FAMILY: tuple[str, ...] = (
    "van der Berg",
    "Van Dyke",
    "De La Cruz",
    "de Jesus",
    "St. John",
    "Du Bois",
    "Van Buren",
    "von Braun",
    "Del Rio",
    "La Rosa",
    "MacDonald",
    "O'Donnell",
    "D'Angelo",
    "O'Malley",
)

# Spelling with diacritics: the person's true name may carry them; records often drop them.
ACCENTED: dict[str, str] = {
    "Jose": "José",
    "Maria": "María",
    "Zoe": "Zoë",
    "Chloe": "Chloé",
    "Renee": "Renée",
    "Andre": "André",
    "Noel": "Noël",
    "Jesus": "Jesús",
    "Ramon": "Ramón",
    "Sofia": "Sofía",
    "Bjorn": "Björn",
    "Hector": "Héctor",
    "Lucia": "Lucía",
    "Noelle": "Noëlle",
    "Ines": "Inés",
    "Garcia": "García",
    "Hernandez": "Hernández",
    "Lopez": "López",
    "Perez": "Pérez",
    "Gonzalez": "González",
    "Rodriguez": "Rodríguez",
    "Martinez": "Martínez",
    "Sanchez": "Sánchez",
    "Ramirez": "Ramírez",
    "Gomez": "Gómez",
    "Diaz": "Díaz",
    "Jimenez": "Jiménez",
    "Munoz": "Muñoz",
    "Nunez": "Núñez",
    "Pena": "Peña",
    "Mueller": "Müller",
    "Alvarez": "Álvarez",
    "Ortiz": "Ortíz",
    "Chavez": "Chávez",
    "Vasquez": "Vásquez",
    "Velasquez": "Velásquez",
    "Schroeder": "Schröder",
    "Suarez": "Suárez",
    "Juarez": "Juárez",
    "Marquez": "Márquez",
}
# Transliterations used instead of simply dropping the accent (Müller -> Mueller).
TRANSLIT: dict[str, str] = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}

NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "Margaret": ("Peggy", "Maggie", "Meg"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Eliza"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate", "Cat"),
    "Michael": ("Mike", "Mikey"),
    "Jennifer": ("Jen", "Jenny"),
    "Richard": ("Rick", "Dick", "Rich"),
    "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe", "Joey"),
    "Charles": ("Chuck", "Charlie"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Steven": ("Steve",),
    "Stephen": ("Steve",),
    "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",),
    "Kenneth": ("Ken",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Timothy": ("Tim",),
    "Jonathan": ("Jon",),
    "Nicholas": ("Nick",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Alexander": ("Alex",),
    "Patrick": ("Pat",),
    "Gregory": ("Greg",),
    "Raymond": ("Ray",),
    "Lawrence": ("Larry",),
    "Gerald": ("Jerry",),
    "Jeffrey": ("Jeff",),
    "Douglas": ("Doug",),
    "Donald": ("Don",),
    "Ronald": ("Ron",),
    "Frederick": ("Fred",),
    "Theodore": ("Ted", "Teddy"),
    "Zachary": ("Zach",),
    "David": ("Dave",),
    "Peter": ("Pete",),
    "Philip": ("Phil",),
    "Jacob": ("Jake",),
    "Nathan": ("Nate",),
    "Francisco": ("Paco", "Frank"),
    "Jose": ("Pepe",),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Barbara": ("Barb",),
    "Susan": ("Sue", "Suzy"),
    "Deborah": ("Debbie", "Deb"),
    "Debra": ("Debbie",),
    "Rebecca": ("Becky",),
    "Kimberly": ("Kim",),
    "Jessica": ("Jess",),
    "Samantha": ("Sam",),
    "Victoria": ("Vicky", "Tori"),
    "Christine": ("Chris",),
    "Cynthia": ("Cindy",),
    "Pamela": ("Pam",),
    "Sandra": ("Sandy",),
    "Dorothy": ("Dot", "Dottie"),
    "Abigail": ("Abby",),
    "Jacqueline": ("Jackie",),
    "Theresa": ("Terry", "Tess"),
    "Judith": ("Judy",),
    "Kathleen": ("Kathy",),
    "Melissa": ("Missy",),
    "Stephanie": ("Steph",),
    "Allison": ("Ally",),
    "Kathryn": ("Kate",),
    "Alexandra": ("Alex",),
    "Frances": ("Fran",),
    "Virginia": ("Ginny",),
    "Gabriela": ("Gaby",),
}

SUFFIXES: tuple[str, ...] = ("Jr", "Sr", "II", "III")
SUFFIX_FORMS: dict[str, tuple[str, ...]] = {
    "Jr": ("Jr.", "Jr", "JR", "jr."),
    "Sr": ("Sr.", "Sr", "SR"),
    "II": ("II",),
    "III": ("III", "3rd"),
}

# ---- foreign names --------------------------------------------------------------------------------

DE_MALE: tuple[str, ...] = _words("""
Thomas Michael Andreas Stefan Jürgen Klaus Peter Frank Uwe Jörg Hans Lukas Jonas Felix
Maximilian
""")
DE_FEMALE: tuple[str, ...] = _words("""
Sabine Ursula Andrea Petra Monika Katrin Anna Julia Lena Sophie Jülide Birgit Claudia Heike
Susanne
""")
DE_FAMILY: tuple[str, ...] = _words("""
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer
Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange
""")
FR_CA_MALE: tuple[str, ...] = _words("Jean Luc Pierre François Marc Éric Stéphane Mathieu")
FR_CA_FEMALE: tuple[str, ...] = _words("Marie Chantal Geneviève Isabelle Nathalie Sylvie Émilie Josée")
FR_CA_FAMILY: tuple[str, ...] = _words("""
Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné Ouellet Pelletier
""")
HISPANIC_FAMILY: frozenset[str] = frozenset(
    _words("""
Garcia Rodriguez Martinez Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Flores Rivera Gomez
Diaz Cruz Reyes Morales Gutierrez Ortiz Ramos Chavez Mendoza Ruiz Alvarez Castillo Jimenez Vasquez
Romero Herrera Medina Aguilar Castro Fernandez Vargas Guzman Mendez Munoz Salazar Soto Delgado Pena
Contreras Sandoval Guerrero Rios Estrada Ortega Nunez Valdez Santiago Maldonado Dominguez Vega
Espinoza Rojas Marquez Padilla Mejia Juarez Cortez Navarro Figueroa Molina Campos Miranda Ayala
""")
)
GB_FAMILY: tuple[str, ...] = _words("""
Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans
Walker White Roberts Green Hall Thomas Clarke Hughes Edwards Lewis Wood
""")

# Chinese: (characters, pinyin). Family names first, as written in Chinese.
CN_FAMILY: tuple[tuple[str, str], ...] = (
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
)
CN_MALE: tuple[tuple[str, str], ...] = (
    ("小明", "Xiaoming"),
    ("伟", "Wei"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("勇", "Yong"),
    ("杰", "Jie"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("建华", "Jianhua"),
    ("志强", "Zhiqiang"),
    ("浩然", "Haoran"),
    ("宇轩", "Yuxuan"),
    ("俊杰", "Junjie"),
)
CN_FEMALE: tuple[tuple[str, str], ...] = (
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("艳", "Yan"),
    ("娟", "Juan"),
    ("秀英", "Xiuying"),
    ("霞", "Xia"),
    ("桂英", "Guiying"),
    ("晓燕", "Xiaoyan"),
    ("海燕", "Haiyan"),
    ("欣怡", "Xinyi"),
    ("梓涵", "Zihan"),
    ("雨桐", "Yutong"),
)

# ---- streets ------------------------------------------------------------------------------------

STREETS: tuple[str, ...] = _words("""
Main Oak Maple Pine Cedar Elm Washington Lake Hill Park Walnut Sunset Lincoln Jackson Church River
Highland Franklin Madison Jefferson Chestnut Spring Center Willow Ridge Meadow Forest Adams Market
Broad Mill Union Locust Cherry Dogwood Magnolia Spruce Birch Valley Lakeview Hickory Sycamore
Poplar Laurel Wilson Grant Harrison Monroe Kennedy King Front Water Bridge College School Academy
Prospect Pleasant Green Fairview Woodland Orchard Railroad Summit Vine Colonial Heritage Liberty
""") + (
    "1st",
    "2nd",
    "3rd",
    "4th",
    "5th",
    "6th",
    "7th",
    "8th",
    "9th",
    "10th",
    "12th",
    "15th",
    "Martin Luther King Jr",
    "Old Mill",
    "Country Club",
    "Cherry Hill",
    "Spring Valley",
)

NUMBER_WORDS: dict[str, str] = {
    "1st": "First",
    "2nd": "Second",
    "3rd": "Third",
    "4th": "Fourth",
    "5th": "Fifth",
    "6th": "Sixth",
    "7th": "Seventh",
    "8th": "Eighth",
    "9th": "Ninth",
    "10th": "Tenth",
    "12th": "Twelfth",
    "15th": "Fifteenth",
}

# canonical street type -> (weight of the type, renderings with weights)
STREET_TYPES: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    "Street": (30, (("St", 45), ("Street", 25), ("St.", 15), ("ST", 8), ("ST.", 5), ("Str", 2))),
    "Avenue": (20, (("Ave", 45), ("Avenue", 25), ("Ave.", 15), ("AVE", 8), ("Av", 7))),
    "Road": (12, (("Rd", 50), ("Road", 30), ("Rd.", 15), ("RD", 5))),
    "Drive": (12, (("Dr", 50), ("Drive", 30), ("Dr.", 15), ("DR", 5))),
    "Lane": (8, (("Ln", 55), ("Lane", 40), ("LN", 5))),
    "Court": (5, (("Ct", 55), ("Court", 40), ("Crt", 5))),
    "Boulevard": (4, (("Blvd", 55), ("Boulevard", 30), ("Blvd.", 10), ("Bvd", 5))),
    "Place": (4, (("Pl", 55), ("Place", 45))),
    "Way": (5, (("Way", 100),)),
    "Terrace": (2, (("Ter", 50), ("Terrace", 50))),
    "Circle": (2, (("Cir", 55), ("Circle", 45))),
    "Parkway": (2, (("Pkwy", 60), ("Parkway", 40))),
}
DIRECTIONS: dict[str, tuple[str, ...]] = {
    "N": ("N", "N.", "North"),
    "S": ("S", "S.", "South"),
    "E": ("E", "E.", "East"),
    "W": ("W", "W.", "West"),
}
# unit kind -> renderings ("{}" is the unit number)
UNIT_FORMS: dict[str, tuple[str, ...]] = {
    "Apt": ("Apt {}", "Apt. {}", "APT {}", "#{}", "Apartment {}", "# {}"),
    "Unit": ("Unit {}", "UNIT {}", "#{}"),
    "Suite": ("Suite {}", "Ste {}", "Ste. {}", "STE {}"),
}

GB_STREETS: tuple[str, ...] = (
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Park Road",
    "Green Lane",
    "Manor Road",
    "Church Street",
    "Mill Lane",
    "Queens Road",
)
DE_STREETS: tuple[str, ...] = (
    "Haupt",
    "Bahnhof",
    "Schul",
    "Garten",
    "Dorf",
    "Berg",
    "Linden",
    "Kirch",
    "Wald",
    "Ring",
    "Goethe",
    "Schiller",
    "Mozart",
    "Friedrich",
)
CN_STREETS: tuple[str, ...] = (
    "Jianguo",
    "Zhongshan",
    "Renmin",
    "Jiefang",
    "Huaihai",
    "Nanjing",
    "Heping",
    "Changan",
    "Xinhua",
    "Dongfeng",
)

# ---- places -----------------------------------------------------------------------------------------


class City(NamedTuple):
    name: str
    region: str  # state / province / county code
    postcodes: tuple[str, ...]  # US zip5s; CA/GB outward codes; DE/CN code ranges "lo-hi"
    area_codes: tuple[str, ...]
    weight: float


US_CITIES: tuple[City, ...] = (
    City("New York", "NY", ("10001", "10002", "10011", "10016", "10024", "10025", "10128"), ("212", "646", "917"), 80),
    City("Los Angeles", "CA", ("90004", "90012", "90026", "90028", "90034", "90046"), ("213", "323", "310"), 40),
    City("Chicago", "IL", ("60601", "60614", "60618", "60622", "60657"), ("312", "773"), 27),
    City("Houston", "TX", ("77002", "77004", "77006", "77008", "77019"), ("713", "281", "832"), 23),
    City("Phoenix", "AZ", ("85003", "85004", "85006", "85008", "85016"), ("602", "480"), 16),
    City("Philadelphia", "PA", ("19103", "19104", "19106", "19147"), ("215", "267"), 16),
    City("San Antonio", "TX", ("78201", "78205", "78209", "78212"), ("210",), 15),
    City("San Diego", "CA", ("92101", "92103", "92104", "92109"), ("619", "858"), 14),
    City("Dallas", "TX", ("75201", "75204", "75206", "75214"), ("214", "469", "972"), 13),
    City("San Jose", "CA", ("95110", "95112", "95125", "95128"), ("408", "669"), 10),
    City("Austin", "TX", ("78701", "78702", "78704", "78745"), ("512", "737"), 10),
    City("Jacksonville", "FL", ("32202", "32204", "32205", "32207"), ("904",), 9),
    City("Columbus", "OH", ("43201", "43206", "43215"), ("614",), 9),
    City("Charlotte", "NC", ("28202", "28203", "28205"), ("704", "980"), 9),
    City("San Francisco", "CA", ("94103", "94110", "94114", "94117", "94122"), ("415", "628"), 9),
    City("Indianapolis", "IN", ("46201", "46202", "46204"), ("317",), 9),
    City("Seattle", "WA", ("98101", "98103", "98105", "98109", "98115"), ("206",), 7),
    City("Denver", "CO", ("80202", "80203", "80205", "80206"), ("303", "720"), 7),
    City("Washington", "DC", ("20001", "20002", "20003", "20009"), ("202",), 7),
    City("Boston", "MA", ("02108", "02110", "02115", "02116", "02130"), ("617", "857"), 7),
    City("Nashville", "TN", ("37203", "37206", "37208"), ("615",), 7),
    City("Detroit", "MI", ("48201", "48202", "48207"), ("313",), 6),
    City("Portland", "OR", ("97201", "97205", "97209", "97214"), ("503", "971"), 6),
    City("Las Vegas", "NV", ("89101", "89102", "89104", "89109"), ("702",), 6),
    City("Memphis", "TN", ("38103", "38104", "38111"), ("901",), 6),
    City("Louisville", "KY", ("40202", "40204", "40205"), ("502",), 6),
    City("Baltimore", "MD", ("21201", "21202", "21218", "21224"), ("410", "443"), 6),
    City("Milwaukee", "WI", ("53202", "53204", "53211"), ("414",), 6),
    City("Albuquerque", "NM", ("87102", "87104", "87106"), ("505",), 5),
    City("Tucson", "AZ", ("85701", "85705", "85719"), ("520",), 5),
    City("Atlanta", "GA", ("30303", "30306", "30308", "30309"), ("404", "470", "678"), 5),
    City("Miami", "FL", ("33125", "33130", "33131", "33137"), ("305", "786"), 4),
    City("Minneapolis", "MN", ("55401", "55403", "55405", "55408"), ("612",), 4),
    City("New Orleans", "LA", ("70112", "70115", "70116", "70130"), ("504",), 4),
    City("Cleveland", "OH", ("44102", "44113", "44114"), ("216",), 4),
    City("St. Louis", "MO", ("63101", "63104", "63110", "63118"), ("314",), 3),
    City("Pittsburgh", "PA", ("15213", "15217", "15222"), ("412",), 3),
    City("Salt Lake City", "UT", ("84101", "84102", "84105"), ("801", "385"), 2),
    City("Providence", "RI", ("02903", "02906", "02908"), ("401",), 2),
    City("Hartford", "CT", ("06103", "06105", "06106"), ("860", "959"), 1),
    City("Newark", "NJ", ("07102", "07103", "07104", "07105"), ("973", "862"), 3),
    City("Burlington", "VT", ("05401",), ("802",), 0.5),
    City("Portland", "ME", ("04101", "04102", "04103"), ("207",), 0.7),
)

# state code -> (full name, AP style abbreviation)
STATES: dict[str, tuple[str, str]] = {
    "NY": ("New York", "N.Y."),
    "CA": ("California", "Calif."),
    "IL": ("Illinois", "Ill."),
    "TX": ("Texas", "Tex."),
    "AZ": ("Arizona", "Ariz."),
    "PA": ("Pennsylvania", "Pa."),
    "FL": ("Florida", "Fla."),
    "OH": ("Ohio", "Ohio"),
    "NC": ("North Carolina", "N.C."),
    "IN": ("Indiana", "Ind."),
    "WA": ("Washington", "Wash."),
    "CO": ("Colorado", "Colo."),
    "DC": ("District of Columbia", "D.C."),
    "MA": ("Massachusetts", "Mass."),
    "TN": ("Tennessee", "Tenn."),
    "MI": ("Michigan", "Mich."),
    "OR": ("Oregon", "Ore."),
    "NV": ("Nevada", "Nev."),
    "KY": ("Kentucky", "Ky."),
    "MD": ("Maryland", "Md."),
    "WI": ("Wisconsin", "Wis."),
    "NM": ("New Mexico", "N.M."),
    "GA": ("Georgia", "Ga."),
    "MN": ("Minnesota", "Minn."),
    "LA": ("Louisiana", "La."),
    "MO": ("Missouri", "Mo."),
    "UT": ("Utah", "Utah"),
    "RI": ("Rhode Island", "R.I."),
    "CT": ("Connecticut", "Conn."),
    "NJ": ("New Jersey", "N.J."),
    "VT": ("Vermont", "Vt."),
    "ME": ("Maine", "Maine"),
}

CITY_VARIANTS: dict[str, tuple[str, ...]] = {
    "New York": ("New York City", "NYC", "New York, NY", "Manhattan"),
    "St. Louis": ("Saint Louis", "St Louis", "ST LOUIS"),
    "Washington": ("Washington DC", "Washington, D.C.", "Wash DC"),
    "San Francisco": ("SF", "San Fran"),
    "Los Angeles": ("LA", "Los Angeles City"),
    "Salt Lake City": ("Salt Lake", "SLC"),
    "Las Vegas": ("Las Vegas", "Vegas"),
    "Montréal": ("Montreal",),
    "München": ("Muenchen", "Munich"),
    "Köln": ("Koeln", "Cologne"),
    "Frankfurt am Main": ("Frankfurt", "Frankfurt/Main", "Frankfurt a.M."),
}

CA_CITIES: tuple[City, ...] = (
    City("Toronto", "ON", ("M5V", "M4C", "M6G", "M5A"), ("416", "647"), 5),
    City("Vancouver", "BC", ("V6B", "V5K", "V6E"), ("604", "778"), 3),
    City("Montréal", "QC", ("H3B", "H2X", "H4A"), ("514", "438"), 3),
    City("Calgary", "AB", ("T2P", "T3A"), ("403", "587"), 2),
    City("Ottawa", "ON", ("K1P", "K2B"), ("613",), 2),
)
GB_CITIES: tuple[City, ...] = (
    City("London", "", ("SW1A", "E1", "N1", "SE1", "W2", "NW3"), ("20",), 6),
    City("Manchester", "", ("M1", "M4", "M14"), ("161",), 2),
    City("Birmingham", "", ("B1", "B5", "B15"), ("121",), 2),
    City("Edinburgh", "", ("EH1", "EH3", "EH9"), ("131",), 1),
)
DE_CITIES: tuple[City, ...] = (
    City("Berlin", "BE", ("10115-14199",), ("30",), 4),
    City("Hamburg", "HH", ("20095-22769",), ("40",), 2),
    City("München", "BY", ("80331-81929",), ("89",), 2),
    City("Köln", "NW", ("50667-51149",), ("221",), 1),
    City("Frankfurt am Main", "HE", ("60306-60599",), ("69",), 1),
)
CN_CITIES: tuple[City, ...] = (
    City("Beijing", "Beijing", ("100000-102629",), ("10",), 3),
    City("Shanghai", "Shanghai", ("200000-201999",), ("21",), 3),
    City("Guangzhou", "Guangdong", ("510000-511499",), ("20",), 2),
    City("Shenzhen", "Guangdong", ("518000-518129",), ("755",), 2),
    City("Chengdu", "Sichuan", ("610000-611799",), ("28",), 1),
)

# country -> how sources spell it (weights)
COUNTRY_SPELLINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "US": (
        ("", 35),
        ("US", 30),
        ("USA", 15),
        ("United States", 10),
        ("U.S.", 4),
        ("United States of America", 3),
        ("us", 3),
    ),
    "CA": (("CA", 30), ("Canada", 50), ("CAN", 10), ("canada", 10)),
    "GB": (("UK", 40), ("United Kingdom", 25), ("GB", 15), ("England", 10), ("Great Britain", 10)),
    "DE": (("DE", 25), ("Germany", 35), ("Deutschland", 30), ("GER", 10)),
    "CN": (("CN", 35), ("China", 45), ("PRC", 10), ("People's Republic of China", 10)),
}

# ---- e-mail -------------------------------------------------------------------------------------

EMAIL_DOMAINS: dict[str, tuple[tuple[str, float], ...]] = {
    "US": (
        ("gmail.com", 36),
        ("yahoo.com", 14),
        ("hotmail.com", 9),
        ("outlook.com", 7),
        ("aol.com", 5),
        ("icloud.com", 8),
        ("comcast.net", 3),
        ("att.net", 2),
        ("verizon.net", 1.5),
        ("sbcglobal.net", 1.5),
        ("msn.com", 1),
        ("live.com", 1),
        ("me.com", 1),
    ),
    "CA": (
        ("gmail.com", 40),
        ("hotmail.com", 15),
        ("shaw.ca", 10),
        ("rogers.com", 10),
        ("sympatico.ca", 5),
        ("yahoo.ca", 10),
    ),
    "GB": (
        ("gmail.com", 35),
        ("btinternet.com", 15),
        ("hotmail.co.uk", 15),
        ("yahoo.co.uk", 15),
        ("outlook.com", 10),
        ("sky.com", 10),
    ),
    "DE": (("gmx.de", 30), ("web.de", 30), ("t-online.de", 15), ("gmail.com", 20), ("posteo.de", 5)),
    "CN": (("qq.com", 45), ("163.com", 25), ("126.com", 10), ("sina.com", 5), ("gmail.com", 15)),
}
COMPANY_DOMAINS: tuple[str, ...] = (
    "acmecorp.com",
    "northwindtraders.com",
    "contoso.com",
    "fabrikam.com",
    "globexcorp.com",
    "initech.com",
    "umbrellahealth.org",
    "stateu.edu",
    "cityschools.org",
    "wayneenterprises.com",
    "piedpiper.io",
    "lakesidebank.com",
)
DOMAIN_TYPOS: dict[str, tuple[str, ...]] = {
    "gmail.com": ("gmial.com", "gmai.com", "gmail.con", "gnail.com", "gmail.co"),
    "yahoo.com": ("yaho.com", "yahooo.com", "yahoo.con", "yhoo.com"),
    "hotmail.com": ("hotmial.com", "hotmal.com", "hotmail.co", "hotmail.con"),
    "outlook.com": ("outlok.com", "outloo.com"),
    "aol.com": ("aol.con", "aoll.com"),
    "icloud.com": ("icoud.com", "iclod.com"),
    "comcast.net": ("comcast.com", "comcat.net"),
}
PLUS_TAGS: tuple[str, ...] = ("promo", "shopping", "news", "hospital", "health", "signup", "2024")

# neighbouring keys on a US keyboard, for substitution typos
KEYBOARD: dict[str, str] = {
    "a": "qwsz",
    "b": "vghn",
    "c": "xdfv",
    "d": "serfcx",
    "e": "wsdr",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "i": "ujko",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "m": "njk",
    "n": "bhjm",
    "o": "iklp",
    "p": "ol",
    "q": "wa",
    "r": "edft",
    "s": "awedxz",
    "t": "rfgy",
    "u": "yhji",
    "v": "cfgb",
    "w": "qase",
    "x": "zsdc",
    "y": "tghu",
    "z": "asx",
}
