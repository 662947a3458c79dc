// Command mkimages makes the synthetic test images of bench/run.sh in -out:
//
//	big.png        a photo (from -photo, a JPEG) at half size, as PNG
//	anim.gif       an animated GIF, 480x360, 24 frames
//	shotN.png      -shots screenshot-like PNGs, 1280x800, about 90 kB
//
// Everything is deterministic.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"log"
	"math/rand"
	"os"
	"path/filepath"
)

func main() {
	photo := flag.String("photo", "", "a JPEG photo for big.png")
	out := flag.String("out", ".", "output folder")
	shots := flag.Int("shots", 4, "screenshots to make")
	flag.Parse()
	if *photo != "" {
		f, err := os.Open(*photo)
		if err != nil {
			log.Fatal(err)
		}
		src, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			log.Fatal(err)
		}
		save(filepath.Join(*out, "big.png"), half(src), "png")
	}
	save(filepath.Join(*out, "anim.gif"), nil, "gif")
	for i := 0; i < *shots; i++ {
		save(filepath.Join(*out, fmt.Sprintf("shot%d.png", i)), screenshot(int64(i)), "png")
	}
}

func save(name string, m image.Image, kind string) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	switch kind {
	case "png":
		err = png.Encode(f, m)
	case "gif":
		err = gif.EncodeAll(f, animation())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatal(err)
	}
}

// half box-averages src 2x2.
func half(src image.Image) image.Image {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := 0; y < b.Dy()/2; y++ {
		for x := 0; x < b.Dx()/2; x++ {
			var r, g, bl uint32
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				cr, cg, cb, _ := src.At(b.Min.X+2*x+d[0], b.Min.Y+2*y+d[1]).RGBA()
				r, g, bl = r+cr, g+cg, bl+cb
			}
			dst.Set(x, y, color.RGBA{uint8(r >> 10), uint8(g >> 10), uint8(bl >> 10), 255})
		}
	}
	return dst
}

// screenshot draws a window-like picture: flat panels, a title bar and rows
// of "text" (short dark runs), which compresses like a real screenshot.
func screenshot(seed int64) image.Image {
	rng := rand.New(rand.NewSource(seed))
	m := image.NewRGBA(image.Rect(0, 0, 1280, 800))
	fill := func(r image.Rectangle, c color.RGBA) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				m.SetRGBA(x, y, c)
			}
		}
	}
	fill(m.Bounds(), color.RGBA{245, 245, 245, 255})
	fill(image.Rect(0, 0, 1280, 36), color.RGBA{50, 60, 80, 255})
	fill(image.Rect(0, 36, 240, 800), color.RGBA{230, 232, 236, 255})
	// 32 "glyphs", 7x12 bit patterns, set in words like text.
	var glyphs [32][12]uint8
	for i := range glyphs {
		for j := range glyphs[i] {
			glyphs[i][j] = uint8(rng.Intn(128))
		}
	}
	ink := color.RGBA{40, 40, 50, 255}
	for y := 60; y < 780; y += 22 {
		x := 260
		if rng.Intn(8) == 0 {
			y += 10
		}
		for x < 1200 && rng.Intn(40) != 0 {
			for n := 2 + rng.Intn(8); n > 0; n-- {
				g := glyphs[rng.Intn(len(glyphs))]
				for gy := 0; gy < 12; gy++ {
					for gx := 0; gx < 7; gx++ {
						if g[gy]&(1<<gx) != 0 {
							m.SetRGBA(x+gx, y+gy, ink)
						}
					}
				}
				x += 8
			}
			x += 8
		}
	}
	return m
}

func animation() *gif.GIF {
	g := &gif.GIF{}
	for i := 0; i < 24; i++ {
		p := image.NewPaletted(image.Rect(0, 0, 480, 360), palette.Plan9)
		for y := 0; y < 360; y++ {
			for x := 0; x < 480; x++ {
				p.SetColorIndex(x, y, uint8((x/8+y/8+i*3)%256))
			}
		}
		cx, cy := 40+i*16, 180
		for y := cy - 30; y < cy+30; y++ {
			for x := cx - 30; x < cx+30; x++ {
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) < 900 {
					p.SetColorIndex(x, y, 0)
				}
			}
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 8)
	}
	return g
}
