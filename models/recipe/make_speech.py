#!/usr/bin/env python3
"""Speaks sentences with espeak-ng (eleven languages, many voice variants, pitch and speed varied)
and flite (its built-in voices) into OUT/espeak-ng/*.wav and OUT/flite/*.wav.

usage: make_speech.py OUT [ESPEAK_COUNT FLITE_COUNT]

Fixed seed; files that exist are kept. Every file is labelled speech.
"""
import os
import random
import subprocess
import sys

SENTENCES = {
    "en": ["The morning train to the coast leaves at half past seven.",
           "Please put the yellow box on the table by the window.",
           "We listened to the rain for a while and then went back to work.",
           "Her brother built a small wooden boat last summer.",
           "Turn left at the station and walk until you see the bridge.",
           "The garden is quiet in the evening when the wind drops.",
           "Can you tell me where the nearest library is?",
           "Seven people signed the letter before it was sent.",
           "I think the recording sounds better without the echo.",
           "Every winter the lake freezes and the children skate on it."],
    "de": ["Der Zug nach Hamburg fährt um acht Uhr ab.",
           "Kannst du mir bitte das Salz geben?",
           "Im Sommer gehen wir oft am Fluss spazieren.",
           "Das Wetter war gestern viel besser als heute.",
           "Meine Schwester wohnt seit zwei Jahren in Berlin."],
    "fr": ["Le train pour Lyon part à huit heures.",
           "Pouvez-vous fermer la fenêtre, s'il vous plaît ?",
           "Nous avons marché le long de la rivière tout l'après-midi.",
           "Le marché du samedi est plein de fruits et de fleurs.",
           "Mon voisin joue du piano tous les soirs."],
    "es": ["El autobús llega a la plaza a las nueve.",
           "¿Dónde está la estación de tren más cercana?",
           "Mi abuela cocina la mejor sopa del pueblo.",
           "Mañana vamos a visitar el museo con los niños.",
           "El perro duerme bajo la mesa de la cocina."],
    "it": ["Il treno per Roma parte alle dieci.",
           "Vorrei un caffè e un bicchiere d'acqua, per favore.",
           "La domenica andiamo sempre al mare.",
           "Mio fratello studia musica a Milano.",
           "La biblioteca chiude alle sei di sera."],
    "pt": ["O comboio para Lisboa sai às oito horas.",
           "Pode dizer-me onde fica a farmácia?",
           "Nós gostamos de passear na praia ao fim da tarde.",
           "A minha irmã trabalha num hospital.",
           "Hoje o céu está limpo e faz calor."],
    "nl": ["De trein naar Utrecht vertrekt om negen uur.",
           "Wil je het raam even dicht doen?",
           "We fietsen elke zondag langs de rivier.",
           "Mijn oma woont in een klein huis bij het bos.",
           "Het regent al de hele dag."],
    "sv": ["Tåget till Göteborg går klockan åtta.",
           "Kan du hjälpa mig med väskan?",
           "Vi badar i sjön varje sommar.",
           "Min bror arbetar på ett kafé i staden.",
           "Det snöade hela natten."],
    "pl": ["Pociąg do Krakowa odjeżdża o ósmej.",
           "Czy możesz zamknąć drzwi?",
           "Latem często jeździmy nad morze.",
           "Mój brat gra na gitarze w zespole.",
           "Dzisiaj jest bardzo zimno i wietrznie."],
    "fi": ["Juna Tampereelle lähtee kello kahdeksan.",
           "Voitko auttaa minua tämän laatikon kanssa?",
           "Kesällä uimme järvessä joka päivä.",
           "Isoäitini leipoo parhaat pullat.",
           "Tänään sataa lunta koko päivän."],
    "ru": ["Поезд в Москву отправляется в восемь часов.",
           "Скажите, пожалуйста, где находится библиотека?",
           "Летом мы часто гуляем в парке.",
           "Моя сестра учится в университете.",
           "Сегодня на улице холодно и идёт снег."],
}
ESPEAK_VOICE = {"en": ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029"],
                "fr": ["fr-fr", "fr-be"], "pt": ["pt", "pt-br"], "es": ["es", "es-419"]}


def variants():
    listing = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[1:]
    return sorted(line.split()[4].replace("!v/", "") for line in listing if len(line.split()) > 4)


def main():
    out = sys.argv[1]
    n_espeak = int(sys.argv[2]) if len(sys.argv) > 2 else 240
    n_flite = int(sys.argv[3]) if len(sys.argv) > 3 else 80
    rng = random.Random(1605)
    var = variants()
    os.makedirs(os.path.join(out, "espeak-ng"), exist_ok=True)
    os.makedirs(os.path.join(out, "flite"), exist_ok=True)
    langs = sorted(SENTENCES)
    for i in range(n_espeak):
        lang = "en" if i % 3 == 0 else langs[i % len(langs)]
        voice = rng.choice(ESPEAK_VOICE.get(lang, [lang])) + "+" + rng.choice(var)
        text = " ".join(rng.sample(SENTENCES[lang], rng.choice([1, 1, 2])))
        pitch, speed = rng.randint(20, 80), rng.randint(120, 200)
        dest = os.path.join(out, "espeak-ng", f"espeak-{lang}-{i:04d}.wav")
        if not os.path.exists(dest):
            subprocess.run(["nice", "-n", "10", "espeak-ng", "-v", voice, "-p", str(pitch),
                            "-s", str(speed), "-w", dest + ".tmp.wav", text], check=True)
            os.replace(dest + ".tmp.wav", dest)
    flite_voices = ["kal", "kal16", "awb", "rms", "slt"]  # awb_time only says the time
    for i in range(n_flite):
        voice = flite_voices[i % len(flite_voices)]
        text = " ".join(rng.sample(SENTENCES["en"], rng.choice([1, 1, 2])))
        dest = os.path.join(out, "flite", f"flite-{voice}-{i:04d}.wav")
        if not os.path.exists(dest):
            subprocess.run(["nice", "-n", "10", "flite", "-voice", voice, "--setf",
                            f"duration_stretch={rng.uniform(0.8, 1.25):.2f}", "--setf",
                            f"int_f0_target_mean={rng.randint(90, 180)}", "-t", text,
                            "-o", dest + ".tmp.wav"], check=True)
            os.replace(dest + ".tmp.wav", dest)
    print(f"make_speech: {n_espeak} espeak-ng and {n_flite} flite files in {out}")


if __name__ == "__main__":
    main()
