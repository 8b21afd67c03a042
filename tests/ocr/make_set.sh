#!/usr/bin/env bash
# Generates the text-in-photos test set with ImageMagick: English and Chinese phrases in several fonts, sizes,
# colours and backgrounds, turned up to 10 degrees, as photos (a phrase on a sign in a 12-megapixel-like scene,
# scaled to 2000 px) and as screenshots (lines of UI text), plus sideways photos (EXIF orientation and turned
# pixels) and photos without text. Writes DIR/manifest.tsv: file, language, phrase ("-" for none).
# usage: make_set.sh DIR [N_PER_KIND] [PHOTO_WIDTH]   (deterministic: the same files every run)
# PHOTO_WIDTH (default 2000) sizes the photos and their text together (the e2e test uses 1000: quicker to make and
# read); screenshots stay 1280x800.
set -euo pipefail
out=$1; n=${2:-12}; W=${3:-2000}; H=$((W * 3 / 4))
px() { echo $(( $1 * W / 2000 )); } # a size in a 2000-pixel-wide photo, at this width
mkdir -p "$out"
C=/usr/bin/convert
EN=("WIFI PASSWORD sunflower42" "Costco Wholesale" "TOTAL 42.17" "RE16 TGK" "Happy Birthday Anna" "Platform 9 departures"
    "Fresh Bakery" "EXIT" "Keep calm and carry on" "Meeting room B204" "Sale 50% off" "Grand Hotel Budapest"
    "Museum of Modern Art" "No parking" "Welcome to Lisbon" "Invoice 2023-0457")
ZH=("欢迎光临" "生日快乐" "北京烤鸭" "禁止停车" "出口" "上海博物馆" "新年快乐" "营业时间" "无线网络密码" "春节快乐" "中国银行"
    "小心地滑" "火车站" "人民公园" "特价优惠" "咖啡店")
FONTS_EN=(DejaVu-Sans DejaVu-Sans-Bold DejaVu-Serif DejaVu-Sans-Mono DejaVu-Sans-Condensed-Bold DejaVu-Serif-Bold)
FONTS_ZH=(Noto-Sans-CJK-SC Noto-Sans-CJK-SC-Bold Noto-Serif-CJK-SC Noto-Sans-Mono-CJK-SC)
INK=("#111111" "#ffffff" "#b00020" "#0d47a1" "#1b5e20" "#ffeb3b")
PAPER=("#ffffff" "#101010" "#fff3e0" "#e3f2fd" "#fafafa" "#263238")
: >"$out/manifest.tsv"
# scene NAME SEED: a photo-like background (blurred plasma, seeded)
scene() { $C -seed "$2" -size ${W}x${H} plasma:fractal -blur 0x3 -modulate 100,70 "$1"; }
i=0
for lang in en zh; do
    for k in $(seq 0 $((n - 1))); do
        if [ $lang = en ]; then phrase=${EN[$((k % ${#EN[@]}))]}; font=${FONTS_EN[$((k % ${#FONTS_EN[@]}))]}
        else phrase=${ZH[$((k % ${#ZH[@]}))]}; font=${FONTS_ZH[$((k % ${#FONTS_ZH[@]}))]}; fi
        ink=${INK[$((k % ${#INK[@]}))]}; paper=${PAPER[$((k % ${#PAPER[@]}))]}
        [ "$ink" = "$paper" ] && paper="#808080"
        size=$(px $((36 + (k * 13) % 60))); angle=$(( (k * 7) % 21 - 10 ))
        # a photo: the phrase on a sign, turned, placed in the scene
        f=$(printf "photo_%s_%02d.jpg" $lang $k)
        scene "$out/bg.png" $((100 + i))
        $C -background "$paper" -fill "$ink" -font "$font" -pointsize "$size" label:"$phrase" -bordercolor "$paper" \
            -border "$(px 20)" -background none -rotate "$angle" "$out/sign.png"
        $C "$out/bg.png" "$out/sign.png" -gravity center -geometry +$(px $(( (k * 97) % 600 - 300 )))+$(px $(( (k * 53) % 400 - 200 ))) \
            -composite -quality 88 "$out/$f"
        printf '%s\t%s\t%s\n' "$f" $lang "$phrase" >>"$out/manifest.tsv"
        # a screenshot: UI lines with the phrase among other text
        f=$(printf "screen_%s_%02d.png" $lang $k)
        other=$([ $lang = en ] && echo "Settings  Profile  Help" || echo "设置  帮助  关于")
        $C -size 1280x800 "xc:$paper" -font "$font" -pointsize $((18 + k % 14)) -fill "$ink" \
            -annotate +40+60 "$other" -annotate +40+$((160 + (k * 37) % 400)) "$phrase" "$out/$f"
        printf '%s\t%s\t%s\n' "$f" $lang "$phrase" >>"$out/manifest.tsv"
        i=$((i + 1))
    done
done
# sideways: a photo whose pixels are turned (text reads bottom to top), and one turned back by EXIF orientation 6
for k in 0 1 2 3; do
    f=$(printf "sideways_%02d.jpg" $k); phrase=${EN[$((k + 3))]}
    scene "$out/bg.png" $((500 + k))
    $C "$out/bg.png" -gravity center -background white -fill black -font DejaVu-Sans-Bold -pointsize "$(px 90)" \
        -annotate +0+0 "$phrase" -rotate $([ $((k % 2)) = 0 ] && echo 90 || echo 270) -quality 88 "$out/$f"
    printf '%s\t%s\t%s\n' "$f" en "$phrase" >>"$out/manifest.tsv"
done
f=exif6_sign.jpg; phrase="Fresh Bakery"
scene "$out/bg.png" 600
$C "$out/bg.png" -gravity center -fill black -font DejaVu-Sans-Bold -pointsize "$(px 100)" -annotate +0+0 "$phrase" \
    -rotate -90 -orient RightTop -quality 88 "$out/$f"   # stored turned, EXIF says turn it back
printf '%s\t%s\t%s\n' "$f" en "$phrase" >>"$out/manifest.tsv"
# photos without text: scenes, gradients, noise, textures
for k in $(seq 0 $((n - 1))); do
    f=$(printf "notext_%02d.jpg" $k)
    case $((k % 4)) in
        0) scene "$out/$f" $((700 + k)) ;;
        1) $C -seed $((800 + k)) -size ${W}x${H} plasma:fractal -attenuate 0.4 +noise Gaussian -quality 90 "$out/$f" ;;
        2) $C -size ${W}x${H} gradient:"#3060a0-#e0c080" -seed $k -attenuate 0.2 +noise Gaussian "$out/$f" ;;
        3) $C -seed $((900 + k)) -size 500x375 xc: +noise Random -blur 0x1 -resize ${W}x${H} -modulate 100,40 "$out/$f" ;;
    esac
    printf '%s\t%s\t%s\n' "$f" - - >>"$out/manifest.tsv"
done
rm -f "$out/bg.png" "$out/sign.png"
