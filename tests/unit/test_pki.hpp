// Throwaway PKI for tests of the tunnel over HTTPS, made with openssl at
// test time in a temporary directory that is removed afterwards: a CA, a
// server certificate for 127.0.0.1, a client certificate from the same CA
// and one from a CA the server does not trust.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <stdlib.h>

namespace sofw::test {

inline std::string read_file(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct TestPki {
    std::string dir;
    std::string error;

    std::string path(const std::string &name) const { return dir + "/" + name; }

    bool run(const std::string &cmd)
    {
        std::string full = "cd '" + dir + "' && " + cmd + " >>openssl.log 2>&1";
        if (system(full.c_str()) != 0) {
            error = "failed: " + cmd + "\n" + read_file(path("openssl.log"));
            return false;
        }
        return true;
    }
    bool make_ca(const std::string &name)
    {
        return run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
                   " -subj '/CN=SoFW test " +
                   name + "' -keyout " + name + ".key -out " + name +
                   ".pem"
                   " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    }
    bool make_cert(const std::string &name, const std::string &ca, const std::string &ext)
    {
        std::ofstream(path(name + ".ext")) << ext << "\n";
        return run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=" + name +
                   "' -keyout " + name + ".key -out " + name + ".csr") &&
               run("openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca + ".key" +
                   " -CAcreateserial -days 2 -out " + name + ".pem -extfile " + name + ".ext");
    }
    bool make()
    {
        char tmpl[] = "/tmp/sofw-tls-test.XXXXXX";
        if (!mkdtemp(tmpl)) {
            error = "mkdtemp failed";
            return false;
        }
        dir = tmpl;
        return make_ca("ca") && make_ca("rogue-ca") &&
               make_cert("server", "ca",
                         "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth") &&
               make_cert("client", "ca", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth") &&
               make_cert("rogue", "rogue-ca", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth");
    }
    ~TestPki()
    {
        if (!dir.empty())
            std::filesystem::remove_all(dir);
    }
};

}  // namespace sofw::test
