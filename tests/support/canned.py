"""Canned answer texts per language: a headline and four sentences each, with no digits and
no capitalised words except at sentence starts, so they pass the gate on any article;
py3langid identifies each of them (tested)."""

# The canned texts are natural sentences that must not be wrapped.
# ruff: noqa: E501

from __future__ import annotations

# Per language: a headline and four sentences. Summary, key points and overview are cut
# from the sentences, so each language needs only five strings.
CANNED: dict[str, tuple[str, tuple[str, str, str, str]]] = {
    "en": ("Officials respond as the situation continues to develop", (
        "Officials said the situation is still developing and more details are expected in the coming days.",
        "Residents were advised to follow official updates and to stay calm while the review continues.",
        "Experts warned that the longer term effects remain unclear and could take months to assess.",
        "The report describes how the main events unfolded and what remains uncertain for now.",
    )),
    "tr": ("Yetkililer gelişmeleri yakından takip ediyor", (
        "Yetkililer durumun hâlâ gelişmekte olduğunu ve önümüzdeki günlerde daha fazla ayrıntı beklendiğini söyledi.",
        "Vatandaşlara resmi açıklamaları takip etmeleri ve inceleme sürerken sakin kalmaları tavsiye edildi.",
        "Uzmanlar uzun vadeli etkilerin henüz belirsiz olduğunu ve değerlendirmenin zaman alabileceğini belirtti.",
        "Haberde olayların nasıl geliştiği ve şu an için neyin belirsiz kaldığı anlatılıyor.",
    )),
    "ar": ("المسؤولون يتابعون التطورات عن كثب", (
        "قال المسؤولون إن الوضع لا يزال يتطور ومن المتوقع الكشف عن مزيد من التفاصيل في الأيام المقبلة.",
        "ونصح السكان بمتابعة التحديثات الرسمية والتزام الهدوء أثناء استمرار المراجعة.",
        "وحذر الخبراء من أن الآثار على المدى الطويل لا تزال غير واضحة وقد يستغرق تقييمها وقتا طويلا.",
        "ويصف التقرير كيف تطورت الأحداث الرئيسية وما الذي لا يزال غير مؤكد حتى الآن.",
    )),
    # German capitalises every noun, so these sentences are built from verbs, pronouns and
    # adverbs: a capitalised noun mid-sentence would look like an invented proper name.
    "de": ("Wie es jetzt weitergeht, ist noch offen", (
        "Es ist noch nicht klar, wie es weitergeht, und man rechnet damit, dass bald mehr bekannt wird.",
        "Beteiligte sollen ruhig bleiben und sich regelmäßig informieren, solange noch geprüft wird.",
        "Fachleute warnen, dass noch unklar ist, wie lange das alles dauern wird.",
        "Beschrieben wird, wie sich alles entwickelt hat und was bisher noch unsicher bleibt.",
    )),
    "fr": ("Les autorités suivent de près l'évolution de la situation", (
        "Les autorités ont indiqué que la situation évolue encore et que de nouveaux détails sont attendus dans les prochains jours.",
        "Les habitants ont été invités à suivre les informations officielles et à rester calmes pendant l'examen en cours.",
        "Les experts ont averti que les effets à long terme restent incertains et pourraient prendre du temps à évaluer.",
        "Le rapport décrit comment les principaux événements se sont déroulés et ce qui reste incertain pour le moment.",
    )),
    "es": ("Las autoridades siguen de cerca la evolución de la situación", (
        "Las autoridades dijeron que la situación sigue evolucionando y que se esperan más detalles en los próximos días.",
        "Se recomendó a los vecinos seguir la información oficial y mantener la calma mientras continúa la revisión.",
        "Los expertos advirtieron que los efectos a largo plazo siguen sin estar claros y que su evaluación llevará tiempo.",
        "El informe describe cómo se desarrollaron los hechos principales y qué sigue siendo incierto por ahora.",
    )),
    "pt": ("As autoridades acompanham de perto a evolução da situação", (
        "As autoridades disseram que a situação ainda está em desenvolvimento e que mais detalhes são esperados nos próximos dias.",
        "Os moradores foram orientados a acompanhar as informações oficiais e a manter a calma enquanto a análise continua.",
        "Os especialistas alertaram que os efeitos a longo prazo ainda não estão claros e que a avaliação pode levar tempo.",
        "O relatório descreve como os principais acontecimentos se desenrolaram e o que ainda permanece incerto.",
    )),
    "it": ("Le autorità seguono da vicino l'evoluzione della situazione", (
        "Le autorità hanno detto che la situazione è ancora in evoluzione e che nei prossimi giorni sono attesi nuovi dettagli.",
        "Ai residenti è stato consigliato di seguire le informazioni ufficiali e di mantenere la calma mentre la verifica prosegue.",
        "Gli esperti hanno avvertito che gli effetti a lungo termine restano poco chiari e che la valutazione richiederà tempo.",
        "Il rapporto descrive come si sono svolti i fatti principali e che cosa resta ancora incerto.",
    )),
    "nl": ("De autoriteiten volgen de ontwikkelingen op de voet", (
        "De autoriteiten zeiden dat de situatie zich nog ontwikkelt en dat er de komende dagen meer details worden verwacht.",
        "Bewoners werd aangeraden de officiële berichten te volgen en kalm te blijven terwijl het onderzoek doorgaat.",
        "Deskundigen waarschuwden dat de gevolgen op lange termijn nog onduidelijk zijn en dat een beoordeling tijd zal kosten.",
        "Het verslag beschrijft hoe de belangrijkste gebeurtenissen verliepen en wat voorlopig nog onzeker blijft.",
    )),
    "ru": ("Власти внимательно следят за развитием ситуации", (
        "Власти заявили, что ситуация всё ещё развивается и в ближайшие дни ожидаются новые подробности.",
        "Жителям посоветовали следить за официальными сообщениями и сохранять спокойствие, пока проверка продолжается.",
        "Эксперты предупредили, что долгосрочные последствия пока неясны и их оценка может занять время.",
        "В материале описано, как развивались основные события и что пока остаётся неясным.",
    )),
    "fa": ("مقامات تحولات را از نزدیک دنبال می‌کنند", (
        "مقامات گفتند که وضعیت هنوز در حال تغییر است و انتظار می‌رود در روزهای آینده جزئیات بیشتری منتشر شود.",
        "به ساکنان توصیه شد اطلاعیه‌های رسمی را دنبال کنند و تا پایان بررسی آرامش خود را حفظ کنند.",
        "کارشناسان هشدار دادند که پیامدهای بلندمدت هنوز روشن نیست و ارزیابی آن ممکن است زمان ببرد.",
        "این گزارش توضیح می‌دهد که رویدادهای اصلی چگونه پیش رفت و چه چیزهایی هنوز نامشخص است.",
    )),
    "he": ("הרשויות עוקבות מקרוב אחר ההתפתחויות", (
        "הרשויות אמרו כי המצב עדיין מתפתח וכי פרטים נוספים צפויים להתפרסם בימים הקרובים.",
        "לתושבים הומלץ לעקוב אחר ההודעות הרשמיות ולשמור על קור רוח בזמן שהבדיקה נמשכת.",
        "מומחים הזהירו כי ההשפעות לטווח הארוך עדיין אינן ברורות וכי הערכתן עשויה להימשך זמן רב.",
        "הדיווח מתאר כיצד התפתחו האירועים המרכזיים ומה עדיין אינו ודאי בשלב זה.",
    )),
    "zh": ("有关部门密切关注事态发展", (
        "有关部门表示，目前情况仍在发展之中，预计未来几天将公布更多细节。",
        "当局建议居民关注官方发布的信息，并在调查继续进行期间保持冷静。",
        "专家提醒说，长期影响目前尚不明确，评估工作可能需要一段时间。",
        "报道介绍了主要事件的经过，以及目前仍不确定的情况。",
    )),
    "ja": ("当局は事態の推移を注視している", (
        "当局によると、状況はまだ変化しており、今後数日のうちに詳しい情報が発表される見通しだ。",
        "住民には公式の情報を確認し、調査が続く間は落ち着いて行動するよう呼びかけられた。",
        "専門家は、長期的な影響はまだはっきりせず、評価には時間がかかる可能性があると指摘した。",
        "記事では、主な出来事の経緯と、現時点でまだ不確かな点について説明している。",
    )),
}  # fmt: skip
