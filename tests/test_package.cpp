// The Debian package end to end: cpack builds it from this build tree into a
// scratch folder, dpkg-deb unpacks it into a scratch root, and what it would
// install is checked there: control fields and dependencies, the exact file
// list, the programs running from the unpacked tree, and the desktop entry,
// AppStream metadata, icons and man page as shipped.
// Skipped only when dpkg-deb is absent (not a Debian system); every other tool
// it uses is installed by packaging/setup.sh, and a missing one fails.
#include "tiny_model.h"

#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest>

#ifndef ANYPREC_CPACK_CONFIG
#error "packaging/CMakeLists.txt defines ANYPREC_CPACK, ANYPREC_CPACK_CONFIG, ANYPREC_PACKAGE_VERSION, ANYPREC_PACKAGE_HAS_GUI"
#endif

namespace {

const QString kAppId = QStringLiteral("io.github.anyprec.Studio");
const QString kVersion = QStringLiteral(ANYPREC_PACKAGE_VERSION);
constexpr bool kHasGui = ANYPREC_PACKAGE_HAS_GUI;

struct Out {
    int code;
    QString out, err;
    QString all() const { return out + err; }
};

}  // namespace

class TestPackage : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    QString deb_, root_;
    QMap<QString, QString> fields_;  // dpkg-deb -f
    QStringList files_;              // regular files in the package, as "usr/..."

    // Runs a program to completion; one that cannot start or runs too long
    // gives code -1, with the reason in err.
    Out run(const QString& program, const QStringList& args, int timeout_ms = 60000,
            const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment()) {
        QProcess p;
        p.setProcessEnvironment(env);
        p.start(program, args);
        if (!p.waitForStarted()) return {-1, {}, program + ": could not start (" + p.errorString() + ")"};
        p.closeWriteChannel();
        if (!p.waitForFinished(timeout_ms)) {
            p.kill();
            p.waitForFinished();
            return {-1, {}, program + ": timed out"};
        }
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }
    // A tool's path, or empty (the caller fails) with a warning naming its Debian package.
    static QString tool(const char* name, const char* debian_package) {
        const QString path = QStandardPaths::findExecutable(QString::fromLatin1(name));
        if (path.isEmpty())
            qWarning("%s not found: install the Debian package %s (packaging/setup.sh does)", name, debian_package);
        return path;
    }
    QString inRoot(const QString& rel) const { return root_ + "/" + rel; }
    QString readFile(const QString& path) {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
    }
    QString manPage(const QString& name) {
        Out o = run("gzip", {"-dc", inRoot("usr/share/man/man1/" + name + ".gz")});
        return o.code == 0 ? o.out : QString();
    }
    // Package names of a Depends-style field: "a (>= 1), b | c" -> a, b, c.
    static QStringList packageNames(const QString& field) {
        QStringList names;
        for (const QString& alt : field.split(QRegularExpression("[,|]"), Qt::SkipEmptyParts))
            names << alt.trimmed().section(' ', 0, 0);
        return names;
    }
    static QSize pngSize(const QString& path) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly)) return {};
        const QByteArray h = f.read(24);  // signature, IHDR length and type, width, height
        if (h.size() < 24 || !h.startsWith("\x89PNG\r\n\x1a\n") || h.mid(12, 4) != "IHDR") return {};
        auto be32 = [&](int at) {
            return int((uchar(h[at]) << 24) | (uchar(h[at + 1]) << 16) | (uchar(h[at + 2]) << 8) | uchar(h[at + 3]));
        };
        return {be32(16), be32(20)};
    }
    QStringList expectedFiles() const {
        QStringList f = {"usr/bin/anyprec", "usr/share/man/man1/anyprec.1.gz", "usr/share/doc/anyprec-studio/copyright"};
        if (kHasGui) {
            f << "usr/bin/anyprec-studio" << "usr/share/man/man1/anyprec-studio.1.gz"
              << "usr/share/applications/" + kAppId + ".desktop" << "usr/share/metainfo/" + kAppId + ".metainfo.xml"
              << "usr/share/icons/hicolor/scalable/apps/" + kAppId + ".svg";
            for (int n : {16, 32, 48, 64, 128, 256})
                f << QString("usr/share/icons/hicolor/%1x%1/apps/%2.png").arg(n).arg(kAppId);
        }
        return f;
    }
    QStringList binaries() const {
        QStringList b = {inRoot("usr/bin/anyprec")};
        if (kHasGui) b << inRoot("usr/bin/anyprec-studio");
        return b;
    }

private slots:
    void initTestCase() {
        const QString dpkgDeb = QStandardPaths::findExecutable("dpkg-deb");
        if (dpkgDeb.isEmpty()) QSKIP("dpkg-deb is not installed: not a Debian system, no .deb to test");
        QVERIFY(tmp_.isValid());

        // The package goes to a scratch folder (-B), so a package the build
        // tree already holds is neither used nor overwritten.
        const QString out = tmp_.filePath("out");
        Out c = run(ANYPREC_CPACK, {"-G", "DEB", "--config", ANYPREC_CPACK_CONFIG, "-B", out}, 300000);
        QVERIFY2(c.code == 0, qPrintable("cpack failed:\n" + c.all()));
        const QStringList debs = QDir(out).entryList({"anyprec-studio_*.deb"}, QDir::Files);
        QVERIFY2(debs.size() == 1, qPrintable("expected one anyprec-studio_*.deb in " + out + ", found: " + debs.join(' ')));
        deb_ = out + "/" + debs.first();

        root_ = tmp_.filePath("root");
        Out x = run(dpkgDeb, {"-x", deb_, root_});
        QVERIFY2(x.code == 0, qPrintable(x.all()));

        Out f = run(dpkgDeb, {"-f", deb_});
        QVERIFY2(f.code == 0, qPrintable(f.all()));
        QString key;
        for (const QString& line : f.out.split('\n', Qt::SkipEmptyParts)) {
            if (line.startsWith(' ')) {
                fields_[key] += "\n" + line.mid(1);
            } else {
                key = line.section(':', 0, 0);
                fields_[key] = line.section(':', 1).trimmed();
            }
        }

        Out l = run(dpkgDeb, {"-c", deb_});
        QVERIFY2(l.code == 0, qPrintable(l.all()));
        for (const QString& line : l.out.split('\n', Qt::SkipEmptyParts)) {
            QVERIFY2(line.startsWith('-') || line.startsWith('d'), qPrintable("not a plain file or folder: " + line));
            const QString path = line.section(' ', -1);
            QVERIFY2(path.startsWith("./usr/"), qPrintable("installs outside /usr: " + line));
            if (line.startsWith('-')) files_ << path.mid(2);
        }
    }

    void controlFields() {
        QCOMPARE(fields_.value("Package"), QString("anyprec-studio"));
        QVERIFY2(fields_.value("Version").startsWith(kVersion + "-"), qPrintable(fields_.value("Version")));
        QCOMPARE(fields_.value("Maintainer"), QString("AnyPrec Studio developers"));
        QCOMPARE(fields_.value("Section"), QString("science"));
        QVERIFY2(fields_.value("Homepage").startsWith("https://"), qPrintable(fields_.value("Homepage")));
        const QStringList description = fields_.value("Description").split('\n');
        QVERIFY2(description.size() >= 2 && !description.first().isEmpty(), qPrintable(fields_.value("Description")));
    }

    // Depends comes from dpkg-shlibdeps: it must name the Qt and QCustomPlot
    // libraries the app links, and never a CUDA or NVIDIA driver package, which
    // would make a GPU mandatory.
    void dependencies() {
        const QString depends = fields_.value("Depends");
        const QStringList names = packageNames(depends);
        QStringList wanted = {"libc6", "libstdc++6", "libqt6core6"};
        if (kHasGui) wanted << "libqt6gui6" << "libqt6widgets6" << "libqcustomplot2.1-qt6";
        for (const QString& w : wanted) QVERIFY2(names.contains(w), qPrintable(w + " missing from Depends: " + depends));
        const QRegularExpression gpu("cuda|cublas|nvidia", QRegularExpression::CaseInsensitiveOption);
        for (const QString& n : names + packageNames(fields_.value("Recommends")))
            QVERIFY2(!gpu.match(n).hasMatch(), qPrintable("GPU package in the dependencies: " + n));
    }

    // Exactly the files we mean to ship: a new install() rule elsewhere (a test
    // program, a static library, headers) shows up here before it reaches users.
    void fileList() {
        const QStringList expected = expectedFiles();
        const QSet<QString> want(expected.begin(), expected.end());
        const QSet<QString> got(files_.begin(), files_.end());
        QStringList missing = QSet<QString>(want).subtract(got).values(), extra = QSet<QString>(got).subtract(want).values();
        missing.sort();
        extra.sort();
        QVERIFY2(missing.isEmpty(), qPrintable("missing from the package: " + missing.join(", ")));
        QVERIFY2(extra.isEmpty(), qPrintable("unexpected in the package (add to expectedFiles() if meant): " + extra.join(", ")));
    }

    // Nothing points back into the build tree, and every shared library the
    // binaries need resolves on this system, none of them a GPU library.
    void binariesStandAlone() {
        const QString readelf = tool("readelf", "binutils");
        QVERIFY(!readelf.isEmpty());
        for (const QString& bin : binaries()) {
            Out d = run(readelf, {"-d", bin});
            QVERIFY2(d.code == 0, qPrintable(d.all()));
            QVERIFY2(!d.out.contains("RPATH") && !d.out.contains("RUNPATH"), qPrintable(bin + " has a run path:\n" + d.out));
            Out l = run("ldd", {bin});
            QVERIFY2(l.code == 0, qPrintable(l.all()));
            QVERIFY2(!l.out.contains("not found"), qPrintable(bin + ":\n" + l.out));
            QVERIFY2(!QRegularExpression("libcuda|libcudart|libcublas|libnvidia").match(l.out).hasMatch(),
                     qPrintable(bin + " links a GPU library dynamically:\n" + l.out));
        }
    }

    void cliRunsFromPackage() {
        const QString anyprec = inRoot("usr/bin/anyprec");
        Out v = run(anyprec, {"--version"});
        QCOMPARE(v.code, 0);
        QCOMPARE(v.out.trimmed(), "anyprec " + kVersion);

        const std::string model = tmp_.filePath("tiny.gguf").toStdString();
        aptest::write_tiny_gguf(aptest::make_tiny_model(), model);
        Out i = run(anyprec, {"info", QString::fromStdString(model)});
        QVERIFY2(i.code == 0, qPrintable(i.all()));
        QVERIFY2(i.out.contains("llama"), qPrintable(i.out));
    }

    void studioRunsFromPackage() {
        if (!kHasGui) QSKIP("built with ANYPREC_BUILD_GUI=OFF: the package has no app");
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("QT_QPA_PLATFORM", "offscreen");
        Out v = run(inRoot("usr/bin/anyprec-studio"), {"--version"}, 60000, env);
        QVERIFY2(v.code == 0, qPrintable(v.all()));
        QCOMPARE(v.out.trimmed(), "AnyPrec Studio " + kVersion);
    }

    // desktop-file-validate prints errors, warnings and hints: any of them fails.
    void desktopEntry() {
        if (!kHasGui) QSKIP("built with ANYPREC_BUILD_GUI=OFF: no desktop entry");
        const QString validate = tool("desktop-file-validate", "desktop-file-utils");
        QVERIFY(!validate.isEmpty());
        const QString path = inRoot("usr/share/applications/" + kAppId + ".desktop");
        Out o = run(validate, {path});
        QVERIFY2(o.code == 0 && o.all().trimmed().isEmpty(), qPrintable(o.all()));

        const QString entry = readFile(path);
        const QString exec = QRegularExpression("^Exec=(\\S+)", QRegularExpression::MultilineOption).match(entry).captured(1);
        QVERIFY2(QFileInfo(inRoot("usr/bin/" + exec)).isExecutable(), qPrintable("Exec=" + exec + " is not in the package"));
        QVERIFY2(entry.contains("\nIcon=" + kAppId + "\n"), "Icon= must name the installed icon");
    }

    // appstreamcli exits non-zero on errors and on warnings.
    void appstreamMetadata() {
        if (!kHasGui) QSKIP("built with ANYPREC_BUILD_GUI=OFF: no AppStream metadata");
        const QString appstreamcli = tool("appstreamcli", "appstream");
        QVERIFY(!appstreamcli.isEmpty());
        const QString path = inRoot("usr/share/metainfo/" + kAppId + ".metainfo.xml");
        Out o = run(appstreamcli, {"validate", "--no-net", path});
        QVERIFY2(o.code == 0, qPrintable(o.all()));

        // What the validator cannot know: the ids match the installed files,
        // and the newest release is this version.
        QString id, launchable, firstRelease;
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QXmlStreamReader xml(&f);
        while (!xml.atEnd()) {
            if (xml.readNext() != QXmlStreamReader::StartElement) continue;
            if (xml.name() == QLatin1String("id") && id.isEmpty()) id = xml.readElementText();
            else if (xml.name() == QLatin1String("launchable")) launchable = xml.readElementText();
            else if (xml.name() == QLatin1String("release") && firstRelease.isEmpty())
                firstRelease = xml.attributes().value("version").toString();
        }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
        QCOMPARE(id, kAppId);
        QCOMPARE(launchable, kAppId + ".desktop");
        QCOMPARE(firstRelease, kVersion);
    }

    void icons() {
        if (!kHasGui) QSKIP("built with ANYPREC_BUILD_GUI=OFF: no icons");
        for (int n : {16, 32, 48, 64, 128, 256}) {
            const QString png = inRoot(QString("usr/share/icons/hicolor/%1x%1/apps/%2.png").arg(n).arg(kAppId));
            QCOMPARE(pngSize(png), QSize(n, n));
        }
        QFile svg(inRoot("usr/share/icons/hicolor/scalable/apps/" + kAppId + ".svg"));
        QVERIFY(svg.open(QIODevice::ReadOnly));
        QXmlStreamReader xml(&svg);
        QVERIFY2(xml.readNextStartElement() && xml.name() == QLatin1String("svg"), "the scalable icon is not an SVG");
        QVERIFY(xml.attributes().hasAttribute("viewBox"));
    }

    // Every command of `anyprec --help` has a section in the man page, and
    // every long option of `anyprec CMD --help` is documented there.
    void manPageCoversCli() {
        const QString anyprec = inRoot("usr/bin/anyprec");
        const QString man = manPage("anyprec.1");
        QVERIFY2(!man.isEmpty(), "cannot read usr/share/man/man1/anyprec.1.gz");
        QVERIFY2(QRegularExpression("^\\.TH ANYPREC 1 .*" + QRegularExpression::escape(kVersion),
                                    QRegularExpression::MultilineOption).match(man).hasMatch(),
                 "the man page's .TH line does not carry this version");

        Out h = run(anyprec, {"--help"});
        QCOMPARE(h.code, 0);
        const QString commandsPart = h.out.section("commands:", 1);
        QStringList commands;
        auto it = QRegularExpression("^  ([a-z]+) ", QRegularExpression::MultilineOption).globalMatch(commandsPart);
        while (it.hasNext()) commands << it.next().captured(1);
        QVERIFY2(commands.size() >= 5, qPrintable("cannot read the commands from:\n" + h.out));

        for (const QString& cmd : commands) {
            QVERIFY2(man.contains(".SS \"" + cmd + " "), qPrintable("no .SS section for command " + cmd));
            Out c = run(anyprec, {cmd, "--help"});
            QVERIFY2(c.code == 0, qPrintable(c.all()));
            auto opts = QRegularExpression("^\\s+(?:-\\w, )?(--[a-z0-9-]+)", QRegularExpression::MultilineOption)
                            .globalMatch(c.out.section("options:", 1));
            while (opts.hasNext()) {
                const QString opt = opts.next().captured(1);
                if (opt == "--help") continue;
                QString roff = opt;
                roff.replace('-', "\\-");
                QVERIFY2(man.contains(roff), qPrintable("anyprec " + cmd + " " + opt + " is not in the man page"));
            }
        }
        if (kHasGui) QVERIFY2(!manPage("anyprec-studio.1").isEmpty(), "cannot read anyprec-studio.1.gz");
    }

    void copyright() {
        const QString text = readFile(inRoot("usr/share/doc/anyprec-studio/copyright"));
        QVERIFY2(text.startsWith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"), "not DEP-5");
        QVERIFY(text.contains("License: GPL-3.0-or-later"));
    }
};

QTEST_GUILESS_MAIN(TestPackage)
#include "test_package.moc"
