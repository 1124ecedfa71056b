"""Words that are not a fabric's name on their own, and the general words for colours, units and numbers.

A word of a fabric's name identifies that fabric by itself only when a customer would not
write it for another reason: "marigold" does, "sunday" ("open on sunday?"), "best",
"royal", "party" or a city ("deliver to lagos?") do not. The lists here are that judgement,
in one place; the matching in grace.understanding.fabrics reads them.
"""
from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Everyday English and chat words, the words of a fabric shop's conversation (events, money, delivery,
# sizes), weekdays and months, and common Pidgin, Twi and Swahili words: never a fabric alone.
COMMON = _words("""
a about above across act add added after again against age ago agree ahead aim air all allow almost alone along
already also although always am among amount an and animal another answer any anybody anyone anything anyway
anywhere apart appear apply are area arm around arrive art as ask at attack aunt away baby back bad bag ball bank
bar base be bear beat beautiful beauty became because become bed been before began begin behind being believe
bell belong below beside best better between big bill bird birth bit black block blood blow board boat body book
born both bottom bought box boy brand bread break bright bring broad broke brother brought build built burn bus
business busy but buy by call came can cant car card care careful carry case cat catch caught cause cell center
centre certain chair chance change charge cheap check chief child children choice choose church city class clean
clear climb close clothes cloud coast cold come common company complete condition consider contain continue control
cook cool copy corner correct cost could count country couple course court cover cross crowd cry current cut daily
dance dark daughter day dead deal dear decide deep deliver delivery design did die different direct do doctor does
dog doing dollar done dont door double down draw dream dress drink drive drop dry due during each ear early earth
easy eat edge effect egg eight either else end enemy enjoy enough enter equal even evening event ever every
everybody everyone everything exact example except excite exercise expect experience eye face fact fair fall family
famous far farm fast father favour favor fear feel feet fell felt few field fields fig fight fill final find fine
finger finish fire first fish fit five flat floor fly follow food foot for force forest form forward found four
free fresh friend from front full fun funny game garden gas gave general get gift girl give glad glass go god goes
going gone good got great green ground group grow grown guess guy had hair half hall hand happen happy hard has hat
have he head health hear heard heart heat heavy held hello help her here hers high hill him his history hit hold
hole home hope horse hospital hot hotel hour house how however human hundred hurry husband i idea if important in
inch include inside instead interest into iron is island it its itself job join joy just keep kept key kid kind
king knew know lady land language large last late laugh law lay lead learn least leave led left leg less let
letter level lie life lift light like line list listen little live long look lost lot love low lucky made main
make man many map mark market marry match matter may maybe me mean measure meet member men middle might mile milk
mind mine minute miss moment money month more morning most mother mountain mouth move much music must my myself
name near nearly neck need never new news next nice night nights nine no noise none nor normal north not note
nothing notice now number of off offer office often oh oil ok okay old on once one only open or order other our out
over own page pain paint pair paper parent part party pass past pay people perhaps person pick picture piece place
plan plant play please plenty point police poor possible power present press pretty price pride print prince
princess problem produce product promise proud pull put queen question quick quiet quite race rain raise rally
ran rather reach read ready real reason receive record remember repeat reply rest result return rich ride right
ring rise river road rock room round royal rule run safe said sale same save saw say school sea season seat second
see seem seen sell send sense sent serve set seven several shall shape share she shine ship shoe shop short should
show shut sick side sign simple since sing sir sister sit six size skin sky sleep slow small smile snow so soft
some someone something sometimes son song soon sorry sort sound south space speak special spend spring stand star
start state station stay step still stone stop store story straight strange street strong student study such
sudden sugar suit summer sun super supply sure surprise sweet system table take talk tall teach team tell ten test
than thank thanks that the their them then there these they thing think third this those though thought three
through throw till time tiny to today together told tomorrow tonight too took top total touch toward towel town
trade train travel tree trip true try turn two type uncle under understand until up upon us use usual valley value
very view visit voice wait walk wall want war warm was wash watch water way we wear weather week weekend weight
welcome well went were west what wheel when where which while white who whole why wide wife will win wind window
winter wish with without woman women wonder wood word work world worry would write wrong yard yards year yes
yesterday yet you young your yours

monday tuesday wednesday thursday friday saturday sunday weekday weekdays
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec

hi hey hallo helo morning afternoon evening goodnight bye pls plz please thanks thank thx ok okay kk alright sure
yeah yep nope na no dey abeg abi sha oya wetin wahala una una oga madam ma mummy daddy mama papa bros sis
boss dear darling customer customers naija jare jor shey nau o ooo

chale charley medaase akwaaba ete sen wo me paa

sasa mambo poa sawa asante sana karibu habari tafadhali ndiyo hapana pesa bei mzuri rafiki ndio bado fundi safari
harmattan rainy dry season

fabric fabrics material materials cloth clothes clothing textile textiles design designs pattern patterns colour
colours color colors shade shades type types style styles sample samples photo photos pic pics picture pictures
image images catalog catalogue collection range stock available availability sold restock quantity stitch sew
sewing tailor tailors seamstress fashion outfit outfits gown gowns dress dresses skirt skirts blouse blouses shirt
shirts trouser trousers agbada kaftan kaftans boubou boubous wrapper wrappers gele ipele iro buba aso ebi asoebi
wedding weddings bride brides groom grooms naming ceremony ceremonies burial funeral birthday graduation
engagement engagements owambe celebration celebrant occasion occasions traditional church mosque office beach
holiday christmas easter sallah eid festival festivals december detty anniversary ruracio harusi

price prices cost costs cheap cheaper cheapest expensive discount discounts promo promos code codes coupon coupons
voucher offer offers deal deals budget naira cedi cedis shilling shillings bob kobo pesewa cent cents money cash
transfer account payment payments pay paid deposit balance receipt proof total

deliver delivery deliveries ship shipping send sending pickup pick collect dispatch courier address location
located area waybill tomorrow today tonight week weekend hours open opening close closing closed

yard yards yd yds piece pieces pcs bundle bundles metre metres meter meters roll rolls pair pairs set sets length
size sizes wide width long inches

first second third fourth fifth sixth last next previous another same other number option options
one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand dozen

weave weaves woven handwoven new old nice fine lovely beautiful pretty cute classy classic simple plain soft
thick thin heavy light quality
original real fake premium luxury super best better good great cool hot ready fresh

want wants need needs like likes love loves get got buy bought order ordered take took see seen show showing
send sent check checking tell told ask asked help have has had make made look looking find found
""")

# Places customers name for delivery or where they are: a fabric's name only with a pointer
# ("the lagos one"), never in "deliver to lagos?". With the words a place's name is made of ("Diani Beach").
PLACES = _words("""
lagos abuja ibadan kano kaduna harcourt enugu benin onitsha aba owerri calabar jos ilorin abeokuta ogun oyo osun
osogbo akure warri asaba uyo lekki ikeja surulere yaba ikoyi ajah eko balogun oshodi nigeria
accra makola kejetia kumasi tamale takoradi tema ho bolga bolgatanga kasoa madina legon aburi kpetoe bonwire
ashanti asante volta ntonso daboya ghana
nairobi mombasa kisumu nakuru eldoret thika malindi lamu kilifi diani watamu naivasha narok kisii nyeri machakos
meru kitale westlands kilimani karen rongai tsavo amboseli rift kenya
africa london usa uk america
beach
""")

# People and everyday things fabrics are named after, that customers also talk about ("which year did Nkrumah
# become president", "nimeshika matatu"): like a place, a fabric's name only with a pointer ("the matatu one").
NAMESAKES = _words("""
nkrumah kenyatta nyerere mandela fela awolowo azikiwe yaa asantewaa obama
nyame
matatu danfo molue okada keke trotro boda tuktuk
""")

# Colour words any shop's customers use, whatever its catalog lists.
BASIC_COLOURS = _words("""
red blue green yellow orange purple pink brown black white grey gray gold golden silver cream ivory beige
navy teal turquoise maroon burgundy wine peach lilac violet indigo coral mustard khaki tan nude champagne
magenta fuchsia aqua mint lemon lime olive emerald ochre ocher rust copper bronze multicolour multicolor colourful
colorful
""")

# Colour words in Swahili, read as the English colour ("kitenge ya kijani"). Not "fedha" (silver, also money).
SWAHILI_COLOURS = {
    "nyekundu": "red", "bluu": "blue", "buluu": "blue", "samawati": "blue", "kijani": "green", "njano": "yellow",
    "manjano": "yellow", "nyeusi": "black", "nyeupe": "white", "zambarau": "purple", "waridi": "pink",
    "pinki": "pink", "kahawia": "brown", "hudhurungi": "brown", "kijivu": "grey", "dhahabu": "gold",
    "machungwa": "orange", "chungwa": "orange",
}

# Colours of two words.
MULTIWORD_COLOURS = (
    "royal blue", "sky blue", "navy blue", "baby blue", "powder blue", "light blue", "dark blue", "light green",
    "dark green", "lemon green", "emerald green", "bottle green", "olive green", "army green", "baby pink",
    "hot pink", "light pink", "off white", "rose gold", "dark brown", "light brown", "wine red", "blood red",
)

# The spelling a catalog most likely uses for a colour word a customer writes.
COLOUR_SPELLINGS = {"gray": "grey", "multicolor": "multicolour", "colorful": "colourful", "ocher": "ochre"}

# Words in category and pattern names that say nothing by themselves ("fugu cloth", "border print").
GENERIC_ATTRIBUTE_WORDS = _words("cloth cloths fabric fabrics print prints material premium super fine quality plain")

# Units a quantity is counted in, as customers write them, and the unit they mean.
UNITS = {
    "yard": "yard", "yards": "yard", "yd": "yard", "yds": "yard", "yrd": "yard", "yrds": "yard", "yad": "yard",
    "yads": "yard", "yardz": "yard",
    "piece": "piece", "pieces": "piece", "pc": "piece", "pcs": "piece", "pcs.": "piece",
    "bundle": "bundle", "bundles": "bundle",
    "metre": "metre", "metres": "metre", "meter": "metre", "meters": "metre", "mtr": "metre", "mtrs": "metre",
    "roll": "roll", "rolls": "roll", "pair": "pair", "pairs": "pair", "set": "set", "sets": "set",
    "bale": "bale", "bales": "bale",
    "stole": "piece", "stoles": "piece",  # kente stoles are sold by the piece
}

UNITS_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS_WORD_NUMBERS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
                     "eighty": 80, "ninety": 90}

ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "last": -1,
}

# Words after which a place or a plain word is meant as a fabric ("the lagos one", "have garden party").
POINTERS_BEFORE = _words("the that this dat dis di d those these of have want like love take buy order about "
                         "is any get got remove drop comot add toa ondoa ongeza mna kuna nataka nipe "
                         "ile hiyo hii hizo zile za")
# Swahili's "do you have" is two words, "mko na": the second alone is also "and" ("kitenge na kanga").
HAVE_BEFORE_NA = _words("mko uko mpo upo")
# "is market day still there", "una get sunday best", "comot owambe ready", "toa mama mboga"
POINTERS_AFTER = _words("one ones print fabric fabrics cloth material design pattern "
                        "still available avail dey left remaining iko bado ipo")  # "market day still available"
# Words before a place that say it is where someone is or sends to ("in the rift valley", "at makola market").
LOCATIVES = _words("in to from at near around via inside outside")
# ... and after it ("I dey lekki side", "ogun state", "ikeja axis", "this lagos heat", "nkrumah circle").
LOCATIVES_AFTER = _words("side axis state county region area mainland island cbd environs "
                         "heat weather traffic rain sun circle road street junction "
                         "lake river beach park town city market bridge national mountain")
# Swahili's "is at" before a where-word: "Lamu iko kwa island", "Amboseli iko karibu na mlima gani".
IS_AT = _words("iko ipo iliko")
WHERE_AFTER_IS_AT = _words("kwa karibu mbali wapi upande kaunti county kilomita katika ndani nje")
# Around a word that is both a colour or pattern and one fabric's own word ("Ochre Ripple", "Amboseli Plaid"),
# the words that say the fabric is meant: "the ochre one", "remove the champagne", "plaid iko?".
OWN_WORD_POINTERS_BEFORE = _words("the that this dat dis di d of remove drop cancel")
OWN_WORD_POINTERS_AFTER = _words("one ones still available avail dey left remaining iko bado ipo fabric cloth material "
                                 "design")
# ... or the word is all the message says, but for these: "champagne?", "ochre pls".
MESSAGE_FILLERS = _words("ok okay kk pls plz please abeg biko tafadhali o oh sir ma madam dear sis bro")
# ... and the words that say the colour is: "the champagne colour", "a shade of ochre".
COLOUR_NOUNS = _words("colour color colours colors shade shades tone tones hue")
